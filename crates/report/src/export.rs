//! Parquet exports: documents, passages, codings and codes, and the passages partitioned by
//! site (hive style: `passages_by_site/site=Fife/part-0.parquet`) for Spark, DuckDB or Polars.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use fieldnotes_coding::Codebook;
use fieldnotes_coding::units::{Placement, Selection};
use fieldnotes_corpus::atomic::AtomicFile;
use fieldnotes_corpus::{Corpus, Value};
use polars::prelude::*;
use polars_io::parquet::write::ParquetWriter;

use crate::{Error, Result};

/// An attribute as a table cell: lists joined by `; `, as the theme tables group them.
fn attr(v: Option<&Value>) -> Option<String> {
    v.map(Value::to_plain)
}

/// The error of a file that cannot be written.
fn cannot(path: &Path, e: std::io::Error) -> Error {
    Error::Invalid(format!("cannot write `{}`: {e}", path.display()))
}

/// Writes a Parquet file atomically ([`AtomicFile`]: exports hold the notes' text, readable by
/// the owner only; on disk before it replaces the old file, so that a crash leaves the old
/// export or the new one).
fn write(df: &mut DataFrame, path: &Path) -> Result<()> {
    let mut file = AtomicFile::create(path).map_err(|e| cannot(path, e))?;
    ParquetWriter::new(file.file()).finish(df)?;
    file.commit().map_err(|e| cannot(path, e))
}

/// Hive partition values: keep letters, digits, space, `-`, `_` and every non-ASCII character
/// (as Hive does; Spark decodes each `%XX` as one Latin-1 character, so encoding the UTF-8
/// bytes of `’` would read back as mojibake); percent-encode other ASCII. A missing and an
/// empty value are both the default partition.
fn partition_value(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() || c == ' ' || c == '-' || c == '_' || !c.is_ascii() {
            o.push(c);
        } else {
            for b in c.to_string().bytes() {
                o.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if o.is_empty() { "__HIVE_DEFAULT_PARTITION__".to_string() } else { o }
}

/// Writes `documents.parquet`, `passages.parquet`, `codings.parquet` (the codings `sel` admits,
/// one row per coding and passage it touches), `codes.parquet` and the passages partitioned by
/// site into `dir`, from the whole study at once; returns the files written.
pub fn export_parquet(
    dir: &Path,
    corpus: &Corpus,
    placement: &Placement<'_>,
    book: &Codebook,
    sel: &Selection,
) -> Result<Vec<PathBuf>> {
    let mut export = ParquetExport::new(dir, book, sel)?;
    export.add(corpus, placement)?;
    export.finish()
}

/// One Parquet file being written a batch of rows at a time: to a temporary file beside it,
/// fsynced and renamed over it when finished (a crash leaves the old export or the new one).
struct BatchedFile {
    path: PathBuf,
    file: AtomicFile,
    writer: polars_io::parquet::write::BatchedWriter<fs::File>,
}

impl BatchedFile {
    fn create(path: PathBuf, schema: &Schema) -> Result<BatchedFile> {
        let mut file = AtomicFile::create(&path).map_err(|e| cannot(&path, e))?;
        let writer = ParquetWriter::new(file.file().try_clone().map_err(|e| cannot(&path, e))?).batched(schema)?;
        Ok(BatchedFile { path, file, writer })
    }

    fn write(&mut self, df: &DataFrame) -> Result<()> {
        if df.height() > 0 {
            self.writer.write_batch(df)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<PathBuf> {
        let BatchedFile { path, file, writer } = self;
        writer.finish()?;
        // The writer's handle closed before the file is put in place.
        drop(writer);
        file.commit().map_err(|e| cannot(&path, e))?;
        Ok(path)
    }
}

/// The Parquet export written a batch of notes at a time ([`ParquetExport::add`]), so that a
/// study need not be loaded whole: what [`export_parquet`] writes.
pub struct ParquetExport<'a> {
    dir: PathBuf,
    book: &'a Codebook,
    sel: &'a Selection,
    documents: BatchedFile,
    passages: BatchedFile,
    codings: BatchedFile,
    /// The passages of each site, by partition value.
    by_site: BTreeMap<String, BatchedFile>,
}

impl<'a> ParquetExport<'a> {
    /// Starts the export into `dir` (made if missing; its partitions by site replaced).
    pub fn new(dir: &Path, book: &'a Codebook, sel: &'a Selection) -> Result<ParquetExport<'a>> {
        fs::create_dir_all(dir).map_err(|e| Error::Invalid(format!("cannot create `{}`: {e}", dir.display())))?;
        let part_root = dir.join("passages_by_site");
        if part_root.exists() {
            fs::remove_dir_all(&part_root)
                .map_err(|e| Error::Invalid(format!("cannot replace `{}`: {e}", part_root.display())))?;
        }
        // The schemas are those of the tables of no notes.
        let none = Corpus::default();
        let placed = Placement::default();
        Ok(ParquetExport {
            dir: dir.to_path_buf(),
            book,
            sel,
            documents: BatchedFile::create(dir.join("documents.parquet"), documents_df(&none)?.schema())?,
            passages: BatchedFile::create(dir.join("passages.parquet"), passages_df(&none)?.schema())?,
            codings: BatchedFile::create(dir.join("codings.parquet"), codings_df(&none, &placed, sel)?.schema())?,
            by_site: BTreeMap::new(),
        })
    }

    /// Adds a batch of notes and the placement of their codings.
    pub fn add(&mut self, corpus: &Corpus, placement: &Placement<'_>) -> Result<()> {
        self.documents.write(&documents_df(corpus)?)?;
        let passages = passages_df(corpus)?;
        self.passages.write(&passages)?;
        // One folder per partition value: a missing and an empty site share the default one.
        let keys: Vec<String> =
            passages.column("site")?.str()?.iter().map(|s| partition_value(s.unwrap_or(""))).collect();
        let key_column = StringChunked::from_iter_values("key".into(), keys.iter().map(String::as_str));
        for key in keys.iter().collect::<std::collections::BTreeSet<_>>() {
            let mask = key_column.equal(key.as_str());
            let part = passages.filter(&mask)?.drop("site")?;
            if !self.by_site.contains_key(key) {
                let folder = self.dir.join("passages_by_site").join(format!("site={key}"));
                fs::create_dir_all(&folder)
                    .map_err(|e| Error::Invalid(format!("cannot create `{}`: {e}", folder.display())))?;
                self.by_site.insert(key.clone(), BatchedFile::create(folder.join("part-0.parquet"), part.schema())?);
            }
            self.by_site.get_mut(key).expect("made above").write(&part)?;
        }
        self.codings.write(&codings_df(corpus, placement, self.sel)?)
    }

    /// Writes the codes and closes every file; returns the files written.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let mut written = vec![self.documents.finish()?, self.passages.finish()?];
        for part in self.by_site.into_values() {
            written.push(part.finish()?);
        }
        written.push(self.codings.finish()?);
        let book = self.book;
        let mut codes = df!(
            "id" => book.codes.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            "name" => book.codes.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "parent" => book.codes.iter().map(|c| c.parent.clone()).collect::<Vec<_>>(),
            "position" => (0..book.codes.len() as u32).collect::<Vec<_>>(),
            "depth" => book.codes.iter().map(|c| book.depth(&c.id) as u32).collect::<Vec<_>>(),
            "colour" => book.codes.iter().map(|c| c.colour.clone()).collect::<Vec<_>>(),
            "description" => book.codes.iter().map(|c| c.description.clone()).collect::<Vec<_>>(),
            "codebook_version" => book.codes.iter().map(|_| book.codebook.version.clone()).collect::<Vec<_>>(),
        )?;
        let p = self.dir.join("codes.parquet");
        write(&mut codes, &p)?;
        written.push(p);
        Ok(written)
    }
}

/// The documents of `corpus`, a row each.
fn documents_df(corpus: &Corpus) -> Result<DataFrame> {
    let docs = &corpus.documents;
    Ok(df!(
        "path" => docs.iter().map(|d| d.path.clone()).collect::<Vec<_>>(),
        "site" => docs.iter().map(|d| attr(d.attributes.get("site"))).collect::<Vec<_>>(),
        "kind" => docs.iter().map(|d| attr(d.attributes.get("kind"))).collect::<Vec<_>>(),
        "date" => docs.iter().map(|d| attr(d.attributes.get("date"))).collect::<Vec<_>>(),
        "year" => docs.iter().map(|d| d.attributes.get("date").and_then(Value::as_date).map(|x| x.year)).collect::<Vec<_>>(),
        "author" => docs.iter().map(|d| attr(d.attributes.get("author"))).collect::<Vec<_>>(),
        "title" => docs.iter().map(|d| attr(d.attributes.get("title"))).collect::<Vec<_>>(),
        "passages" => docs.iter().map(|d| d.passages.len() as u32).collect::<Vec<_>>(),
        "words" => docs.iter().map(|d| d.words()).collect::<Vec<_>>(),
        "attributes" => docs.iter().map(|d| serde_json::to_string(&d.attributes).unwrap_or_default()).collect::<Vec<_>>(),
    )?)
}

/// A column of string cells gathered by name, taken out.
fn take(cols: &mut BTreeMap<&str, Vec<Option<String>>>, k: &str) -> Vec<Option<String>> {
    cols.remove(k).unwrap_or_default()
}

/// The passages of `corpus`, a row each.
fn passages_df(corpus: &Corpus) -> Result<DataFrame> {
    let docs = &corpus.documents;
    // Passages.
    let mut cols: BTreeMap<&str, Vec<Option<String>>> = BTreeMap::new();
    let (mut ordinal, mut start, mut end, mut words, mut year) = (vec![], vec![], vec![], vec![], vec![]);
    for d in docs {
        for p in &d.passages {
            cols.entry("id").or_default().push(Some(d.passage_id(p)));
            cols.entry("doc").or_default().push(Some(d.path.clone()));
            cols.entry("site").or_default().push(attr(d.attributes.get("site")));
            cols.entry("kind").or_default().push(attr(d.attributes.get("kind")));
            cols.entry("date").or_default().push(attr(d.attributes.get("date")));
            cols.entry("speaker").or_default().push(p.speaker.clone());
            cols.entry("time").or_default().push(p.time.clone());
            cols.entry("section").or_default().push(p.section.clone());
            cols.entry("text").or_default().push(Some(d.passage_text(p).to_string()));
            ordinal.push(p.ordinal);
            start.push(p.start as u64);
            end.push(p.end as u64);
            words.push(p.words);
            year.push(d.attributes.get("date").and_then(Value::as_date).map(|x| x.year));
        }
    }
    Ok(df!(
        "id" => take(&mut cols, "id"),
        "doc" => take(&mut cols, "doc"),
        "ordinal" => ordinal,
        "start" => start,
        "end" => end,
        "site" => take(&mut cols, "site"),
        "kind" => take(&mut cols, "kind"),
        "date" => take(&mut cols, "date"),
        "year" => year,
        "speaker" => take(&mut cols, "speaker"),
        "time" => take(&mut cols, "time"),
        "section" => take(&mut cols, "section"),
        "words" => words,
        "text" => take(&mut cols, "text"),
    )?)
}

/// The codings `sel` admits among those `placement` places on `corpus`, a row per coding and
/// passage it touches.
fn codings_df(corpus: &Corpus, placement: &Placement<'_>, sel: &Selection) -> Result<DataFrame> {
    let docs = &corpus.documents;
    // Codings (placed on the current text; one row per coding and passage it touches).
    let mut c_cols: BTreeMap<&str, Vec<Option<String>>> = BTreeMap::new();
    let (mut cstart, mut cend) = (vec![], vec![]);
    for x in placement.placed.iter().filter(|x| sel.admits(x.coding)) {
        let d = &docs[x.doc];
        for pi in x.passages.clone() {
            let c = x.coding;
            c_cols.entry("id").or_default().push(Some(c.id.clone()));
            c_cols.entry("passage").or_default().push(Some(d.passage_id(&d.passages[pi])));
            c_cols.entry("doc").or_default().push(Some(c.doc.clone()));
            c_cols.entry("site").or_default().push(attr(d.attributes.get("site")));
            c_cols.entry("code").or_default().push(Some(c.code.clone()));
            c_cols.entry("coder").or_default().push(Some(c.coder.clone()));
            c_cols.entry("origin").or_default().push(Some(format!("{:?}", c.origin).to_lowercase()));
            c_cols.entry("status").or_default().push(Some(c.status.to_string()));
            c_cols.entry("reviewer").or_default().push(c.reviewer.clone());
            c_cols.entry("memo").or_default().push(c.memo.clone());
            c_cols.entry("time").or_default().push(Some(c.time.clone()));
            c_cols.entry("text").or_default().push(Some(x.text(corpus).to_string()));
            cstart.push(x.start as u64);
            cend.push(x.end as u64);
        }
    }
    Ok(df!(
        "id" => take(&mut c_cols, "id"),
        "passage" => take(&mut c_cols, "passage"),
        "doc" => take(&mut c_cols, "doc"),
        "site" => take(&mut c_cols, "site"),
        "start" => cstart,
        "end" => cend,
        "code" => take(&mut c_cols, "code"),
        "coder" => take(&mut c_cols, "coder"),
        "origin" => take(&mut c_cols, "origin"),
        "status" => take(&mut c_cols, "status"),
        "reviewer" => take(&mut c_cols, "reviewer"),
        "memo" => take(&mut c_cols, "memo"),
        "time" => take(&mut c_cols, "time"),
        "text" => take(&mut c_cols, "text"),
    )?)
}

/// Writes a theme table in long form (one row per code and group) as Parquet.
pub fn theme_parquet(t: &crate::ThemeTable, path: &Path) -> Result<()> {
    let (mut code, mut group, mut passages, mut docs, mut words, mut value) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (i, r) in t.rows.iter().enumerate() {
        for (j, g) in t.groups.iter().enumerate() {
            code.push(r.id.clone());
            group.push(g.clone());
            passages.push(r.cells[j].passages);
            docs.push(r.cells[j].docs);
            words.push(r.cells[j].words);
            value.push(t.value(i, j));
        }
    }
    let n = code.len();
    let mut df = df!(
        "code" => code,
        t.by.as_str() => group,
        "passages" => passages,
        "docs" => docs,
        "words" => words,
        "value" => value,
        "caption" => vec![t.caption(); n],
    )?;
    write(&mut df, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_safe() {
        assert_eq!(partition_value("West Dunbartonshire"), "West Dunbartonshire");
        assert_eq!(partition_value("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(partition_value("Argyll’s Île"), "Argyll’s Île");
        assert_eq!(partition_value(""), "__HIVE_DEFAULT_PARTITION__");
    }
}
