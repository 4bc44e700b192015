//! Survey spreadsheets (CSV or XLSX): one row per respondent, open answers in text columns,
//! attributes in other columns, and the codes coders gave in code columns.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Error, Problem, Result};

/// A table read from a CSV or the first sheet of an XLSX file.
#[derive(Clone, Debug, Default)]
pub struct Sheet {
    /// Column names (header row).
    pub header: Vec<String>,
    /// Rows, with their 1-based row number in the file.
    pub rows: Vec<(usize, Vec<String>)>,
    /// Rows that could not be read.
    pub problems: Vec<Problem>,
}

/// Reads a CSV (UTF-8, BOM allowed) or XLSX file, by extension.
pub fn read_sheet(path: &Path, bytes: &[u8]) -> Result<Sheet> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" => read_xlsx(bytes),
        _ => read_csv(bytes),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Sheet> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Format { line: 1, message: format!("cannot read the header row: {e}") })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut sheet = Sheet { header, ..Default::default() };
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line() as usize);
                let mut cells: Vec<String> = r.iter().map(str::to_string).collect();
                if cells.len() > sheet.header.len() {
                    sheet.problems.push(Problem {
                        line,
                        message: format!(
                            "{} cells but {} columns; extra cells ignored",
                            cells.len(),
                            sheet.header.len()
                        ),
                    });
                }
                cells.resize(sheet.header.len(), String::new());
                sheet.rows.push((line, cells));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                sheet.problems.push(Problem { line, message: format!("unreadable row: {e}") });
            }
        }
    }
    Ok(sheet)
}

fn read_xlsx(bytes: &[u8]) -> Result<Sheet> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::Format { line: 0, message: format!("not a readable XLSX file: {e}") })?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| Error::Format { line: 0, message: "the workbook has no sheet".into() })?
        .map_err(|e| Error::Format { line: 0, message: format!("cannot read the first sheet: {e}") })?;
    let mut rows = range.rows();
    let header: Vec<String> =
        rows.next().map(|r| r.iter().map(|c| c.to_string().trim().to_string()).collect()).unwrap_or_default();
    let start_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut sheet = Sheet { header, ..Default::default() };
    for (i, r) in rows.enumerate() {
        let mut cells: Vec<String> = r.iter().map(|c| c.to_string()).collect();
        cells.resize(sheet.header.len(), String::new());
        sheet.rows.push((start_row + i + 2, cells));
    }
    Ok(sheet)
}

/// The characters that separate codes in a code cell unless told otherwise; line breaks always do.
pub const DEFAULT_CODE_SEPARATORS: &str = ";,|";

/// How to read a survey.
#[derive(Clone, Debug, Default)]
pub struct SurveySpec {
    /// The respondent id column.
    pub id: String,
    /// Open-answer columns.
    pub text: Vec<String>,
    /// Attribute columns.
    pub attrs: Vec<String>,
    /// Code columns.
    pub codes: Vec<String>,
    /// Characters that separate codes in a cell (empty: [`DEFAULT_CODE_SEPARATORS`]).
    pub code_separators: String,
}

/// One answer of one respondent, with the code paths coders gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The question (text column).
    pub question: String,
    /// The answer.
    pub text: String,
    /// Code paths (`parent->child` split into parts).
    pub codes: Vec<Vec<String>>,
}

/// A respondent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Respondent {
    /// Row number in the file.
    pub row: usize,
    /// Id.
    pub id: String,
    /// Attributes, by column.
    pub attrs: Vec<(String, String)>,
    /// Non-empty answers.
    pub answers: Vec<Answer>,
}

fn col(sheet: &Sheet, name: &str) -> Result<usize> {
    sheet.header.iter().position(|h| h.eq_ignore_ascii_case(name)).ok_or_else(|| {
        // One column holding `;` or tabs between names: a sheet saved with another separator
        // (Excel's in many European settings is `;`).
        let hint = match sheet.header.as_slice() {
            [one] if one.contains(';') => {
                "; the header is one column holding `;`: save the sheet as CSV with commas (or as XLSX)"
            }
            [one] if one.contains('\t') => {
                "; the header is one column holding tabs: save the sheet as CSV with commas (or as XLSX)"
            }
            _ => "",
        };
        Error::Format {
            line: 1,
            message: format!("no column `{name}`; the columns are: {}{hint}", sheet.header.join(", ")),
        }
    })
}

/// Splits a code cell into code paths: codes are separated by any of `separators` or a line
/// break, and a path `parent->child` is split into its parts. Returns the paths and, for each
/// code that cannot be read (an empty part, as in `->child` or `parent->`, or a part with no
/// letter or digit), what is wrong with it.
pub fn code_paths(cell: &str, separators: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let mut paths = Vec::new();
    let mut bad = Vec::new();
    for code in cell.split(|c: char| c == '\n' || c == '\r' || separators.contains(c)) {
        let code = code.trim();
        if code.is_empty() {
            continue;
        }
        let parts: Vec<String> = code.split("->").map(|p| p.trim().to_string()).collect();
        if parts.iter().any(String::is_empty) {
            bad.push(format!("`{code}` has an empty part; write a path as `parent->child`"));
        } else if let Some(p) = parts.iter().find(|p| !p.chars().any(char::is_alphanumeric)) {
            bad.push(format!("`{code}`: `{p}` has no letter or digit to name a code"));
        } else {
            paths.push(parts);
        }
    }
    (paths, bad)
}

/// A spreadsheet column's letters: 0 is `A`, 26 is `AA`.
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The id part of a code name: lower case, letters, digits and `_` kept as written, every run of
/// other characters one `-` (`possible_exam_method` stays, `Local knowledge` is
/// `local-knowledge`). A sub-code's id is its parent's id, `/` and its own part.
pub fn code_id_part(name: &str) -> String {
    let out = fieldnotes_corpus::slug_id(name);
    if out.is_empty() { "code".into() } else { out }
}

/// A code of a codebook, as far as finding codes by their place goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeCode {
    /// Its id.
    pub id: String,
    /// Its name as written.
    pub name: String,
    /// Its parent's id.
    pub parent: Option<String>,
}

/// Finds the codes of code paths in a codebook by their place in the tree and their name, and
/// makes the ones it lacks.
///
/// A code is its place and its name: `open_book` and `blackboard->open_book` are two codes, and
/// so are `student_privacy->monitoring` and `student_discomfort->monitoring`. Each part of a path
/// is looked for among the children of the code before it (the top-level codes for the first
/// part) by name or id, ignoring case; a code's id also matches by its last `/` part. A path of
/// one part holding `/` (`blackboard/open_book`) is a code's full id.
#[derive(Clone, Debug, Default)]
pub struct CodeTree {
    codes: Vec<TreeCode>,
    added: Vec<TreeCode>,
}

impl CodeTree {
    /// A tree over the codes of a codebook.
    pub fn new(codes: Vec<TreeCode>) -> Self {
        CodeTree { codes, added: Vec::new() }
    }

    /// The id of the code of a path, made (with the codes above it) when missing.
    pub fn resolve(&mut self, path: &[String]) -> String {
        if let [one] = path
            && one.contains('/')
            && let Some(c) = self.codes.iter().find(|c| c.id.eq_ignore_ascii_case(one))
        {
            return c.id.clone();
        }
        let mut parent: Option<String> = None;
        for part in path {
            let found = self.codes.iter().find(|c| {
                c.parent == parent
                    && (c.name.eq_ignore_ascii_case(part)
                        || c.id.eq_ignore_ascii_case(part)
                        || c.id.rsplit('/').next().is_some_and(|last| last.eq_ignore_ascii_case(part)))
            });
            let id = match found {
                Some(c) => c.id.clone(),
                None => {
                    let base = match &parent {
                        Some(p) => format!("{p}/{}", code_id_part(part)),
                        None => code_id_part(part),
                    };
                    let mut id = base.clone();
                    let mut k = 2;
                    while self.codes.iter().any(|c| c.id.eq_ignore_ascii_case(&id)) {
                        id = format!("{base}-{k}");
                        k += 1;
                    }
                    let code = TreeCode { id: id.clone(), name: part.clone(), parent: parent.clone() };
                    self.codes.push(code.clone());
                    self.added.push(code);
                    id
                }
            };
            parent = Some(id);
        }
        parent.unwrap_or_default()
    }

    /// The codes made so far, parents before their children.
    pub fn added(&self) -> &[TreeCode] {
        &self.added
    }
}

/// Reads respondents. With as many code columns as text columns, code column i codes text
/// column i; otherwise every code column codes every answer of the row.
pub fn respondents(sheet: &Sheet, spec: &SurveySpec) -> Result<(Vec<Respondent>, Vec<Problem>)> {
    let id = col(sheet, &spec.id)?;
    let text: Vec<usize> = spec.text.iter().map(|c| col(sheet, c)).collect::<Result<_>>()?;
    let attrs: Vec<usize> = spec.attrs.iter().map(|c| col(sheet, c)).collect::<Result<_>>()?;
    let codes: Vec<usize> = spec.codes.iter().map(|c| col(sheet, c)).collect::<Result<_>>()?;
    let paired = codes.len() == text.len();
    let mut problems = sheet.problems.clone();
    if !paired && !codes.is_empty() && text.len() > 1 {
        // Not an error (codes of the whole respondent are a way to code a survey), but easy to
        // get by leaving a column out: said, with how to pair them.
        problems.push(Problem {
            line: 1,
            message: format!(
                "{} code column(s) for {} answer columns: each code column codes every answer of its row; give one code column per answer column, in the same order, to pair them",
                codes.len(),
                text.len()
            ),
        });
    }
    let separators =
        if spec.code_separators.is_empty() { DEFAULT_CODE_SEPARATORS } else { spec.code_separators.as_str() };
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, cells) in &sheet.rows {
        let rid = cells[id].trim().to_string();
        if rid.is_empty() {
            if cells.iter().any(|c| !c.trim().is_empty()) {
                problems.push(Problem {
                    line: *line,
                    message: format!("no respondent id in column `{}`; row skipped", spec.id),
                });
            }
            continue;
        }
        if let Some(first) = seen.insert(rid.clone(), *line) {
            problems
                .push(Problem { line: *line, message: format!("respondent `{rid}` repeats row {first}; row skipped") });
            continue;
        }
        let mut answers = Vec::new();
        for (k, &t) in text.iter().enumerate() {
            let words = cells[t].trim();
            if words.is_empty() {
                // Codes with no answer to stand on are not dropped in silence.
                if paired && !cells[codes[k]].trim().is_empty() {
                    problems.push(Problem {
                        line: *line,
                        message: format!(
                            "column `{}` ({}) has codes for an empty answer in `{}`; they were left out",
                            sheet.header[codes[k]],
                            column_letters(codes[k]),
                            sheet.header[t]
                        ),
                    });
                }
                continue;
            }
            let code_cols: Vec<usize> = if paired { vec![codes[k]] } else { codes.clone() };
            let mut paths = Vec::new();
            for &c in &code_cols {
                let (ok, bad) = code_paths(&cells[c], separators);
                paths.extend(ok);
                for why in bad {
                    problems.push(Problem {
                        line: *line,
                        message: format!(
                            "column `{}` ({}): {why}; that code was left out",
                            sheet.header[c],
                            column_letters(c)
                        ),
                    });
                }
            }
            answers.push(Answer { question: sheet.header[t].clone(), text: words.to_string(), codes: paths });
        }
        let attrs = attrs
            .iter()
            .map(|&a| (sheet.header[a].clone(), cells[a].trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        out.push(Respondent { row: *line, id: rid, attrs, answers });
    }
    Ok((out, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_respondents_with_codes() {
        let csv = "\u{feff}id,site,q1,q1_codes,q2,q2_codes\nr1,Fife,\"It took years, honestly.\",time;context,We owned it.,accountability->ownership\nr2,Glasgow,,,\"Nothing, really\",->ownership\n,,,,,\nr1,Fife,dup,,,\n";
        let sheet = read_sheet(Path::new("s.csv"), csv.as_bytes()).unwrap();
        let spec = SurveySpec {
            id: "id".into(),
            text: vec!["q1".into(), "q2".into()],
            attrs: vec!["site".into()],
            codes: vec!["q1_codes".into(), "q2_codes".into()],
            code_separators: String::new(),
        };
        let (rs, problems) = respondents(&sheet, &spec).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].answers[0].codes, [vec!["time".to_string()], vec!["context".to_string()]]);
        assert_eq!(rs[0].answers[1].codes, [vec!["accountability".to_string(), "ownership".to_string()]]);
        assert_eq!(rs[1].answers.len(), 1);
        assert!(rs[1].answers[0].codes.is_empty());
        assert_eq!(rs[1].attrs, [("site".to_string(), "Glasgow".to_string())]);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].line, 3);
        assert!(
            problems[0].message.starts_with("column `q2_codes` (F): `->ownership` has an empty part"),
            "{problems:?}"
        );
        assert_eq!(problems[1].line, 5);
        let e = respondents(&sheet, &SurveySpec { id: "nope".into(), ..spec }).unwrap_err();
        assert!(e.to_string().contains("no column `nope`"));
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cells_hold_several_codes() {
        let (paths, bad) =
            code_paths("time, context; Local knowledge->Housing | trust\nownership\r\n;;", DEFAULT_CODE_SEPARATORS);
        assert_eq!(
            paths,
            [
                strings(&["time"]),
                strings(&["context"]),
                strings(&["Local knowledge", "Housing"]),
                strings(&["trust"]),
                strings(&["ownership"])
            ]
        );
        assert!(bad.is_empty());
        // With `--code-sep ';'` a comma belongs to the code's name; line breaks still separate.
        let (paths, _) = code_paths("time, context;trust\nx", ";");
        assert_eq!(paths, [strings(&["time, context"]), strings(&["trust"]), strings(&["x"])]);
        let (paths, bad) = code_paths("a->;->b;c->->d;?->e;ok", ";");
        assert_eq!(paths, [strings(&["ok"])]);
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[3].contains("`?` has no letter or digit"), "{bad:?}");
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(52), "BA");
    }

    #[test]
    fn codes_keep_their_place_and_name() {
        let existing = vec![
            TreeCode { id: "time".into(), name: "Time".into(), parent: None },
            TreeCode { id: "blackboard".into(), name: "blackboard".into(), parent: None },
            // An older codebook whose sub-code ids are not paths.
            TreeCode { id: "diet".into(), name: "Diet".into(), parent: Some("blackboard".into()) },
        ];
        let mut t = CodeTree::new(existing);
        let r = |t: &mut CodeTree, p: &[&str]| t.resolve(&strings(p));
        assert_eq!(r(&mut t, &["TIME"]), "time");
        assert_eq!(r(&mut t, &["open_book"]), "open_book");
        assert_eq!(r(&mut t, &["blackboard", "open_book"]), "blackboard/open_book");
        assert_eq!(r(&mut t, &["Blackboard", "Open_Book"]), "blackboard/open_book");
        assert_eq!(r(&mut t, &["blackboard/open_book"]), "blackboard/open_book");
        assert_eq!(r(&mut t, &["student_privacy", "monitoring"]), "student_privacy/monitoring");
        assert_eq!(r(&mut t, &["student_discomfort", "monitoring"]), "student_discomfort/monitoring");
        assert_eq!(r(&mut t, &["possible_exam_method"]), "possible_exam_method");
        assert_eq!(r(&mut t, &["Local knowledge", "Housing"]), "local-knowledge/housing");
        // `diet` at the top is not the sub-code `blackboard->diet`, whose id is `diet`.
        assert_eq!(r(&mut t, &["blackboard", "diet"]), "diet");
        assert_eq!(r(&mut t, &["diet"]), "diet-2");
        let added: Vec<(&str, &str, Option<&str>)> =
            t.added().iter().map(|c| (c.id.as_str(), c.name.as_str(), c.parent.as_deref())).collect();
        assert_eq!(
            added,
            [
                ("open_book", "open_book", None),
                ("blackboard/open_book", "open_book", Some("blackboard")),
                ("student_privacy", "student_privacy", None),
                ("student_privacy/monitoring", "monitoring", Some("student_privacy")),
                ("student_discomfort", "student_discomfort", None),
                ("student_discomfort/monitoring", "monitoring", Some("student_discomfort")),
                ("possible_exam_method", "possible_exam_method", None),
                ("local-knowledge", "Local knowledge", None),
                ("local-knowledge/housing", "Housing", Some("local-knowledge")),
                ("diet-2", "diet", None),
            ]
        );
    }
}
