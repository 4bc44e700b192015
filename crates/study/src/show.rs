//! A passage in context: the passages around it with their codings, as a front end shows a
//! note (`fieldnotes show`, a note page).

use anyhow::Result;
use fieldnotes_coding::Coding;
use fieldnotes_corpus::Attributes;
use serde::Serialize;

use crate::{Study, Tell};

/// One passage of a [`NoteView`].
#[derive(Clone, Debug, Serialize)]
pub struct PassageView {
    /// Its id (`path#key`).
    pub id: String,
    /// Its key.
    #[serde(skip)]
    pub key: String,
    /// Its place in the note (1 for the first passage).
    #[serde(skip)]
    pub ordinal: u32,
    /// Whether it is the passage asked for.
    pub focus: bool,
    /// Its first character in the note (code points).
    pub start: usize,
    /// After its last character.
    pub end: usize,
    /// Who speaks, in a transcript.
    pub speaker: Option<String>,
    /// The heading it stands under.
    pub section: Option<String>,
    /// Its first line in the note's file.
    pub line: usize,
    /// Its words.
    pub text: String,
    /// The codings on it now (placed: following the note's edits).
    pub codings: Vec<Coding>,
}

/// A note around one of its passages.
#[derive(Clone, Debug, Serialize)]
pub struct NoteView {
    /// The note's path.
    pub document: String,
    /// Its front matter.
    pub attributes: Attributes,
    /// The passage asked for, with `context` passages on each side.
    pub passages: Vec<PassageView>,
}

/// A coding where it stands in a note now, for a front end to mark the words.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    /// The coding where it stands now ([`fieldnotes_coding::units::Placed::current`]).
    pub coding: Coding,
    /// Its first character in the note now (code points; after the note's edits).
    pub start: usize,
    /// After its last character.
    pub end: usize,
    /// Whether its words moved since they were coded.
    pub moved: bool,
}

/// A whole note: every passage, and every coding placed on it.
#[derive(Clone, Debug, Serialize)]
pub struct WholeNote {
    /// The note's path.
    pub document: String,
    /// Its front matter.
    pub attributes: Attributes,
    /// Its passages, in order (none is the focus).
    pub passages: Vec<PassageView>,
    /// Its codings where they stand now, in the order of their places.
    pub marks: Vec<Mark>,
}

impl Study {
    /// The whole of note `path` (as in passage ids: `notes/...`), with its codings placed: what
    /// a note page shows. Load the study with [`Study::load_note`] on `path#1` to read that note
    /// alone.
    pub fn note(&self, path: &str, tell: &dyn Tell) -> Result<WholeNote> {
        let (di, doc, _) = self.passage(&format!("{path}#1"), tell)?;
        let placement = self.placement();
        let mine: Vec<_> = placement.placed.iter().filter(|x| x.doc == di).collect();
        let passages = (0..doc.passages.len()).map(|i| self.passage_view(doc, di, i, None, &placement)).collect();
        let mut marks: Vec<Mark> =
            mine.iter().map(|x| Mark { coding: x.current(doc), start: x.start, end: x.end, moved: x.moved }).collect();
        marks.sort_by(|a, b| (a.start, a.end, &a.coding.id).cmp(&(b.start, b.end, &b.coding.id)));
        Ok(WholeNote { document: doc.path.clone(), attributes: doc.attributes.clone(), passages, marks })
    }

    /// Passage `i` of note `doc` (index `di`) with its codings; `focus`: the passage asked for.
    fn passage_view(
        &self,
        doc: &fieldnotes_corpus::Document,
        di: usize,
        i: usize,
        focus: Option<usize>,
        placement: &fieldnotes_coding::units::Placement<'_>,
    ) -> PassageView {
        let q = &doc.passages[i];
        let codings = placement
            .placed
            .iter()
            .filter(|x| x.doc == di && x.passages.contains(&i))
            .map(|x| x.current(doc))
            .collect();
        PassageView {
            id: doc.passage_id(q),
            key: q.key.to_string(),
            ordinal: q.ordinal,
            focus: focus == Some(i),
            start: q.start,
            end: q.end,
            speaker: q.speaker.clone(),
            section: q.section.clone(),
            line: q.line,
            text: doc.passage_text(q).to_string(),
            codings,
        }
    }
}

impl Study {
    /// Passage `id` with `context` passages on each side, each with its codings.
    pub fn view(&self, id: &str, context: usize, tell: &dyn Tell) -> Result<NoteView> {
        let (di, doc, p) = self.passage(id, tell)?;
        let placement = self.placement();
        let pi = (p.ordinal - 1) as usize;
        let lo = pi.saturating_sub(context);
        let hi = (pi + context + 1).min(doc.passages.len());
        let passages = (lo..hi).map(|i| self.passage_view(doc, di, i, Some(pi), &placement)).collect();
        Ok(NoteView { document: doc.path.clone(), attributes: doc.attributes.clone(), passages })
    }
}
