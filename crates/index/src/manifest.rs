//! What the index keeps beside tantivy's files: the manifest (schema version, each note's
//! signature), the word list, the state of the last update, written atomically.

use super::*;

/// The name of the manifest inside the index folder.
pub const MANIFEST: &str = "fieldnotes-manifest.json";

/// The index's word list: every word (lower-cased, unstemmed) of the passages indexed since it
/// was created, one per line, sorted. Prefix and fuzzy terms expand over it. Words of removed
/// passages stay until the next rebuild; a match is always checked against the passage's text.
pub const WORDS: &str = "fieldnotes-words.txt";

/// When the index was last brought up to date, and the notes it skipped then (see
/// [`SearchIndex::staleness`]). Written by every update, even one that changed nothing.
pub const STATE: &str = "fieldnotes-state.json";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    /// When the last update started reading the notes, in nanoseconds since the epoch: a note
    /// modified after this may differ from the index.
    pub(crate) updated_ns: u128,
    /// Notes the last update could not read (they are not in the manifest).
    pub(crate) skipped: BTreeSet<String>,
    /// Why each of them could not be read, where it was not for being empty (an empty note
    /// has no passage to leave out of a count).
    #[serde(default)]
    pub(crate) unread: BTreeMap<String, String>,
}

/// What changed in the notes since the index was last brought up to date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Staleness {
    /// Indexed notes modified since.
    pub changed: Vec<String>,
    /// Notes the index does not have.
    pub added: Vec<String>,
    /// Indexed notes that are gone.
    pub removed: Vec<String>,
}

impl Staleness {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }

    /// Every note concerned, sorted.
    pub fn paths(&self) -> Vec<&str> {
        let mut all: Vec<&str> =
            self.changed.iter().chain(&self.added).chain(&self.removed).map(String::as_str).collect();
        all.sort_unstable();
        all
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) schema_version: u32,
    /// Document path -> signature.
    #[serde(deserialize_with = "sorted_map")]
    pub(crate) docs: BTreeMap<String, String>,
}

/// A map read as its pairs and built in one go: written sorted, it is built without the string
/// comparisons of inserting 324,641 paths one at a time.
pub(crate) fn sorted_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of paths to signatures")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(pair) = map.next_entry()? {
                out.push(pair);
            }
            Ok(out)
        }
    }
    Ok(d.deserialize_map(Pairs)?.into_iter().collect())
}

/// Writes `path` by way of a synced temporary file renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    fieldnotes_corpus::atomic::write(path, bytes).map_err(io(path))
}
