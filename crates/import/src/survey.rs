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
    sheet.header.iter().position(|h| h.eq_ignore_ascii_case(name)).ok_or_else(|| Error::Format {
        line: 1,
        message: format!("no column `{name}`; the columns are: {}", sheet.header.join(", ")),
    })
}

/// Splits a code cell: several codes separated by `;`, each a path `parent->child`.
pub fn code_paths(cell: &str) -> Vec<Vec<String>> {
    cell.split(';')
        .map(|c| c.split("->").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect::<Vec<_>>())
        .filter(|p: &Vec<String>| !p.is_empty())
        .collect()
}

/// Reads respondents. With as many code columns as text columns, code column i codes text
/// column i; otherwise every code column codes every answer of the row.
pub fn respondents(sheet: &Sheet, spec: &SurveySpec) -> Result<(Vec<Respondent>, Vec<Problem>)> {
    let id = col(sheet, &spec.id)?;
    let text: Vec<usize> = spec.text.iter().map(|c| col(sheet, c)).collect::<Result<_>>()?;
    let attrs: Vec<usize> = spec.attrs.iter().map(|c| col(sheet, c)).collect::<Result<_>>()?;
    let codes: Vec<usize> = spec.codes.iter().map(|c| col(sheet, c)).collect::<Result<_>>()?;
    let paired = codes.len() == text.len();
    let mut out = Vec::new();
    let mut problems = sheet.problems.clone();
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
                continue;
            }
            let code_cols: Vec<usize> = if paired { vec![codes[k]] } else { codes.clone() };
            let paths = code_cols.iter().flat_map(|&c| code_paths(&cells[c])).collect();
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
        let csv = "\u{feff}id,site,q1,q1_codes,q2,q2_codes\nr1,Fife,\"It took years, honestly.\",time;context,We owned it.,accountability->ownership\nr2,Glasgow,,,\"Nothing, really\",\n,,,,,\nr1,Fife,dup,,,\n";
        let sheet = read_sheet(Path::new("s.csv"), csv.as_bytes()).unwrap();
        let spec = SurveySpec {
            id: "id".into(),
            text: vec!["q1".into(), "q2".into()],
            attrs: vec!["site".into()],
            codes: vec!["q1_codes".into(), "q2_codes".into()],
        };
        let (rs, problems) = respondents(&sheet, &spec).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].answers[0].codes, [vec!["time".to_string()], vec!["context".to_string()]]);
        assert_eq!(rs[0].answers[1].codes, [vec!["accountability".to_string(), "ownership".to_string()]]);
        assert_eq!(rs[1].answers.len(), 1);
        assert_eq!(rs[1].attrs, [("site".to_string(), "Glasgow".to_string())]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 5);
        let e = respondents(&sheet, &SurveySpec { id: "nope".into(), ..spec }).unwrap_err();
        assert!(e.to_string().contains("no column `nope`"));
    }
}
