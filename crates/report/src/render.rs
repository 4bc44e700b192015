//! Renderers: CSV, Markdown, LaTeX (booktabs), HTML, JSON and an SVG heatmap.

use std::fmt::Write as _;

use crate::themes::ThemeTable;

/// A plain table with a caption, for any renderer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Table {
    /// Column headers.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// Which columns hold numbers (right-aligned).
    pub numeric: Vec<bool>,
    /// The caption: what is counted.
    pub caption: String,
}

impl ThemeTable {
    /// The theme table as a plain table: a header row, then a row of group sizes, then codes.
    pub fn to_table(&self) -> Table {
        let mut header = vec!["code".to_string()];
        header.extend(self.groups.iter().cloned());
        let mut rows = Vec::with_capacity(self.rows.len() + 1);
        let mut sizes = vec![format!("({} per group)", self.size_unit().name())];
        sizes.extend(self.sizes.iter().map(|s| s.of(self.size_unit()).to_string()));
        rows.push(sizes);
        for (i, r) in self.rows.iter().enumerate() {
            let mut row = vec![format!("{}{}", "  ".repeat(r.depth), r.id)];
            row.extend((0..self.groups.len()).map(|j| self.formatted(i, j)));
            rows.push(row);
        }
        let mut numeric = vec![false];
        numeric.extend(std::iter::repeat_n(true, self.groups.len()));
        Table { header, rows, numeric, caption: self.caption() }
    }
}

/// RFC 4180 CSV.
pub fn csv(t: &Table) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
    };
    let mut out = String::new();
    for row in std::iter::once(&t.header).chain(&t.rows) {
        out.push_str(&row.iter().map(|c| field(c.trim_start())).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

fn md_cell(s: &str) -> String {
    // `<` would open an HTML tag to GitHub, and what follows would vanish.
    s.replace('|', "\\|").replace('\n', " ").replace('<', "&lt;").replace('>', "&gt;")
}

/// A GitHub-flavoured Markdown table with the caption as a paragraph below.
pub fn markdown(t: &Table) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", t.header.iter().map(|h| md_cell(h)).collect::<Vec<_>>().join(" | "));
    let aligns: Vec<&str> =
        (0..t.header.len()).map(|i| if t.numeric.get(i).copied().unwrap_or(false) { "---:" } else { "---" }).collect();
    let _ = writeln!(out, "| {} |", aligns.join(" | "));
    for r in &t.rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| {
                let depth = (c.len() - c.trim_start().len()) / 2;
                format!("{}{}", "&nbsp;&nbsp;".repeat(depth), md_cell(c.trim_start()))
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let _ = writeln!(out, "\n{}", md_cell(&t.caption));
    out
}

/// Escapes text for LaTeX.
pub fn latex_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                o.push('\\');
                o.push(c);
            }
            '~' => o.push_str("\\textasciitilde{}"),
            '^' => o.push_str("\\textasciicircum{}"),
            '\\' => o.push_str("\\textbackslash{}"),
            '–' => o.push_str("--"),
            // In the default font encoding `<` and `>` print as `¡` and `¿`.
            '<' => o.push_str("\\textless{}"),
            '>' => o.push_str("\\textgreater{}"),
            '²' => o.push_str("$^2$"),
            'χ' => o.push_str("$\\chi$"),
            'κ' => o.push_str("$\\kappa$"),
            'α' => o.push_str("$\\alpha$"),
            _ => o.push(c),
        }
    }
    o
}

/// A booktabs table in a `table` float, ready for `\usepackage{booktabs}`.
pub fn latex(t: &Table) -> String {
    let mut out = String::from("% requires \\usepackage{booktabs}\n\\begin{table}[htbp]\n\\centering\n");
    let _ = writeln!(out, "\\caption{{{}}}", latex_escape(&t.caption));
    let spec: String =
        (0..t.header.len()).map(|i| if t.numeric.get(i).copied().unwrap_or(false) { 'r' } else { 'l' }).collect();
    let _ = writeln!(out, "\\begin{{tabular}}{{{spec}}}\n\\toprule");
    let _ =
        writeln!(out, "{} \\\\\n\\midrule", t.header.iter().map(|h| latex_escape(h)).collect::<Vec<_>>().join(" & "));
    for r in &t.rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| {
                let depth = (c.len() - c.trim_start().len()) / 2;
                format!("{}{}", "\\quad ".repeat(depth), latex_escape(c.trim_start()))
            })
            .collect();
        let _ = writeln!(out, "{} \\\\", cells.join(" & "));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    out
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// An HTML `<table>` with a `<caption>`.
pub fn html_table(t: &Table) -> String {
    let mut out = String::from("<table>\n");
    let _ = writeln!(out, "<caption>{}</caption>", html_escape(&t.caption));
    out.push_str("<thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", html_escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let cls = if t.numeric.get(i).copied().unwrap_or(false) { " class=\"num\"" } else { "" };
            let depth = (c.len() - c.trim_start().len()) / 2;
            let pad = if depth > 0 { format!(" style=\"padding-left:{}em\"", depth) } else { String::new() };
            let _ = write!(out, "<td{cls}{pad}>{}</td>", html_escape(c.trim_start()));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A complete, self-contained HTML page around some body HTML.
pub fn html_page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: Georgia, "Times New Roman", serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }}
h1, h2 {{ font-family: "Helvetica Neue", Arial, sans-serif; font-weight: 600; }}
table {{ border-collapse: collapse; margin: 1rem 0 2rem; font-size: 0.92rem; }}
caption {{ caption-side: bottom; text-align: left; font-size: 0.85rem; color: #555; padding-top: 0.4rem; }}
th, td {{ padding: 0.25rem 0.7rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
thead th {{ border-top: 2px solid #222; border-bottom: 1px solid #222; }}
tbody tr:last-child td {{ border-bottom: 2px solid #222; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
figure svg {{ max-width: 100%; height: auto; }}
.wide {{ overflow-x: auto; }}
.wide table {{ font-size: 0.8rem; }}
.flag {{ font-weight: bold; }}
blockquote {{ margin: 0.3rem 0 0.8rem 1rem; font-style: italic; }}
.meta {{ font-size: 0.8rem; color: #666; font-style: normal; }}
figure {{ margin: 1rem 0 2rem; }}
figcaption {{ font-size: 0.85rem; color: #555; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#,
        title = html_escape(title)
    )
}

/// Grey level for a value in [0, 1]: light (low) to dark (high), monotone in luminance so the
/// figure reads the same in greyscale.
fn shade(t: f64) -> (u8, u8, u8) {
    let t = t.clamp(0.0, 1.0);
    // From #f7fbff to #08306b (a sequential blue whose luminance falls steadily).
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    (lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// A labelled heatmap of codes (rows) by groups (columns, without the total), as SVG.
pub fn heatmap_svg(table: &ThemeTable) -> String {
    let groups = table.groups.len().saturating_sub(1);
    let label_w =
        8.0 * table.rows.iter().map(|r| code_label(r).chars().count() + 2 * r.depth).max().unwrap_or(4) as f64 + 20.0;
    // Cells as wide as their numbers need; the groups' names above them at a slant, so that
    // long names (`West Dunbartonshire`) do not widen the figure.
    let cell_w = 64.0;
    let longest = table.groups.iter().take(groups).map(|g| g.chars().count()).max().unwrap_or(6) as f64;
    let (cell_h, top, bottom) = (30.0, 24.0 + 5.0 * longest, 70.0);
    let width = label_w + cell_w * groups as f64 + 20.0 + 6.0 * longest;
    let height = top + cell_h * table.rows.len() as f64 + bottom;
    let max = (0..table.rows.len())
        .flat_map(|i| (0..groups).map(move |j| (i, j)))
        .filter_map(|(i, j)| table.value(i, j))
        .fold(0.0_f64, f64::max);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<title>{}</title>"#, html_escape(&table.caption()));
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    for (j, g) in table.groups.iter().take(groups).enumerate() {
        let x = label_w + cell_w * (j as f64 + 0.5);
        let _ = writeln!(
            s,
            r#"<text transform="translate({x:.1},{:.1}) rotate(-35)" text-anchor="start" font-weight="bold">{}</text>"#,
            top - 8.0,
            html_escape(g)
        );
    }
    for (i, r) in table.rows.iter().enumerate() {
        let y = top + cell_h * i as f64;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end"><title>{}</title>{}</text>"#,
            label_w - 10.0,
            y + cell_h * 0.65,
            html_escape(&code_title(r)),
            html_escape(&format!("{}{}", "\u{a0}\u{a0}".repeat(r.depth), code_label(r)))
        );
        for j in 0..groups {
            let x = label_w + cell_w * j as f64;
            let v = table.value(i, j);
            let t = match v {
                Some(v) if max > 0.0 => v / max,
                _ => 0.0,
            };
            let (cr, cg, cb) = shade(t);
            let _ = writeln!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell_w:.1}" height="{cell_h:.1}" fill="#{cr:02x}{cg:02x}{cb:02x}" stroke="#ffffff"/>"##
            );
            let ink = if t > 0.55 { "#ffffff" } else { "#111111" };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{ink}">{}</text>"#,
                x + cell_w / 2.0,
                y + cell_h * 0.65,
                table.formatted(i, j)
            );
        }
    }
    let legend = what_cells_show(table);
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#444">Cells: {}; darker = more (max {}).</text>"##,
        10.0,
        height - bottom + 30.0,
        html_escape(&legend),
        // Counts are whole numbers.
        if matches!(table.measure, crate::Measure::Count | crate::Measure::Docs) {
            format!("{max:.0}")
        } else {
            format!("{max:.1}")
        }
    );
    s.push_str("</svg>\n");
    s
}

/// Longest label a figure gives a code: longer names are cut, whole in the label's title.
const LABEL_CHARS: usize = 30;

/// A code's label in a figure: its name (its id if it has none), cut to [`LABEL_CHARS`].
fn code_label(r: &crate::themes::CodeRow) -> String {
    let name = if r.name.trim().is_empty() { &r.id } else { &r.name };
    if name.chars().count() <= LABEL_CHARS {
        name.clone()
    } else {
        format!("{}…", name.chars().take(LABEL_CHARS - 1).collect::<String>().trim_end())
    }
}

/// A code's whole name and id, for a label's tooltip.
fn code_title(r: &crate::themes::CodeRow) -> String {
    if r.name.trim().is_empty() || r.name == r.id { r.id.clone() } else { format!("{} ({})", r.name, r.id) }
}

/// What a figure's cells or bars show, in a few words.
fn what_cells_show(table: &ThemeTable) -> String {
    match table.measure {
        crate::Measure::Count => format!("{} with the code", table.unit.name()),
        crate::Measure::Share => format!("% of the group's {}", table.unit.name()),
        crate::Measure::Rate => "coded passages per 1,000 words".to_string(),
        crate::Measure::Docs => "notes with the code".to_string(),
    }
}

/// A grouped bar chart of codes (groups of bars) by group, as SVG, with greyscale-distinct fills.
/// Its axis says what a bar counts, and its title holds the table's caption (the counting rule).
pub fn bars_svg(table: &ThemeTable) -> String {
    let groups = table.groups.len().saturating_sub(1);
    let n = table.rows.len();
    let (left, top, bottom, right) = (60.0, 30.0, 140.0, 180.0);
    let bar_w = 12.0;
    let gap = 18.0;
    let plot_w = (bar_w * groups as f64 + gap) * n as f64;
    let plot_h = 280.0;
    let width = left + plot_w + right;
    let height = top + plot_h + bottom;
    let max = (0..n)
        .flat_map(|i| (0..groups).map(move |j| (i, j)))
        .filter_map(|(i, j)| table.value(i, j))
        .fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    // Counts get whole-number ticks: the axis runs to four whole steps.
    let counts = matches!(table.measure, crate::Measure::Count | crate::Measure::Docs);
    let max = if counts { (max / 4.0).ceil().max(1.0) * 4.0 } else { max };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<title>{}</title>"#, html_escape(&table.caption()));
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text transform="translate(14,{:.1}) rotate(-90)" text-anchor="middle" fill="#444">{}</text>"##,
        top + plot_h / 2.0,
        html_escape(&what_cells_show(table))
    );
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#222"/>"##,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = top + plot_h - plot_h * k as f64 / 4.0;
        let label = if counts { format!("{v:.0}") } else { format!("{v:.1}") };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{label}</text>"##,
            left - 6.0,
            y + 4.0
        );
        let _ = writeln!(s, r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/>"##, left + plot_w);
    }
    for i in 0..n {
        let x0 = left + gap / 2.0 + (bar_w * groups as f64 + gap) * i as f64;
        for j in 0..groups {
            let v = table.value(i, j).unwrap_or(0.0);
            let h = plot_h * v / max;
            let (r, g, b) = shade(0.15 + 0.85 * j as f64 / groups.max(1) as f64);
            let _ = writeln!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{bar_w}" height="{h:.1}" fill="#{r:02x}{g:02x}{b:02x}" stroke="#222" stroke-width="0.5"><title>{} / {}: {}</title></rect>"##,
                x0 + bar_w * j as f64,
                top + plot_h - h,
                html_escape(&code_title(&table.rows[i])),
                html_escape(&table.groups[j]),
                table.formatted(i, j)
            );
        }
        let cx = x0 + bar_w * groups as f64 / 2.0;
        let _ = writeln!(
            s,
            r#"<text transform="translate({cx:.1},{:.1}) rotate(-40)" text-anchor="end"><title>{}</title>{}</text>"#,
            top + plot_h + 14.0,
            html_escape(&code_title(&table.rows[i])),
            html_escape(&code_label(&table.rows[i]))
        );
    }
    for j in 0..groups {
        let y = top + 16.0 * j as f64;
        let (r, g, b) = shade(0.15 + 0.85 * j as f64 / groups.max(1) as f64);
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{y:.1}" width="12" height="12" fill="#{r:02x}{g:02x}{b:02x}" stroke="#222" stroke-width="0.5"/>"##,
            left + plot_w + 15.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            left + plot_w + 32.0,
            y + 10.0,
            html_escape(&table.groups[j])
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A figure of ours (`heatmap_svg`, `bars_svg`) made taller by its caption, set in lines below
/// it: a figure put into a paper on its own keeps its counting rule and what was left out, as a
/// table's caption does. Pages that print the caption beside a figure use the figure alone.
pub fn captioned(svg: &str, caption: &str) -> String {
    // Our figures open with `width="W" height="H" viewBox="0 0 W H"`.
    let number = |key: &str| -> Option<f64> {
        let at = svg.find(key)? + key.len();
        svg[at..].split('"').next()?.parse().ok()
    };
    let (Some(width), Some(height)) = (number(" width=\""), number(" height=\"")) else {
        return svg.to_string();
    };
    // About 6 pixels a character at 11 points.
    let per_line = (((width - 20.0) / 6.0) as usize).max(40);
    let mut lines: Vec<String> = Vec::new();
    for word in caption.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= per_line => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    let line_h = 15.0;
    let grown = height + 16.0 + line_h * lines.len() as f64;
    let head = format!(r#" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}""#);
    let new_head = format!(r#" width="{width:.0}" height="{grown:.0}" viewBox="0 0 {width:.0} {grown:.0}""#);
    let mut out = svg.replacen(&head, &new_head, 1);
    let body_end = out.rfind("</svg>").unwrap_or(out.len());
    let mut text = String::new();
    for (i, l) in lines.iter().enumerate() {
        let _ = writeln!(
            text,
            r##"<text x="10" y="{:.1}" font-size="11" fill="#333">{}</text>"##,
            height + 7.0 + line_h * (i as f64 + 1.0),
            html_escape(l)
        );
    }
    out.insert_str(body_end, &text);
    out
}

/// Rasterises an SVG figure to PNG at `scale` (2 gives print-ready pixels), setting its text in
/// the system's fonts. Fails with a hint where the system has no fonts at all, rather than
/// writing a figure without its labels.
pub fn svg_to_png(svg: &str, scale: f32) -> crate::Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let families: Vec<String> = opt.fontdb.faces().flat_map(|f| f.families.iter().map(|(n, _)| n.clone())).collect();
    let Some(sans) = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans", "FreeSans"]
        .iter()
        .map(|s| s.to_string())
        .find(|f| families.contains(f))
        .or_else(|| families.first().cloned())
    else {
        return Err(crate::Error::Invalid(
            "no fonts found on this system, so the PNG would have no labels; install one (e.g. Debian's fonts-dejavu-core) or use `--format svg`".into(),
        ));
    };
    opt.fontdb_mut().set_sans_serif_family(sans.clone());
    opt.font_family = sans;
    let tree =
        usvg::Tree::from_str(svg, &opt).map_err(|e| crate::Error::Invalid(format!("cannot read the figure: {e}")))?;
    let size = tree.size();
    let (w, h) = ((size.width() * scale).ceil() as u32, (size.height() * scale).ceil() as u32);
    let mut pixmap = tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| crate::Error::Invalid(format!("figure of {w} x {h} pixels is too large")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| crate::Error::Invalid(format!("cannot encode the PNG: {e}")))
}
