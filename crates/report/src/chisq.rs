//! Pearson's chi-square test of independence, with adjusted standardised residuals.

use serde::Serialize;

/// The result of a chi-square test on an r x c table of counts.
#[derive(Clone, Debug, Serialize)]
pub struct ChiSquare {
    /// Pearson's X².
    pub statistic: f64,
    /// Degrees of freedom, (r - 1)(c - 1).
    pub df: usize,
    /// Upper-tail p-value.
    pub p_value: f64,
    /// Expected counts under independence.
    pub expected: Vec<Vec<f64>>,
    /// Adjusted standardised residuals (Haberman): (O - E) / sqrt(E (1 - row/N)(1 - col/N)).
    pub residuals: Vec<Vec<f64>>,
    /// Share of cells with an expected count under 5.
    pub small_expected_share: f64,
}

impl ChiSquare {
    /// Whether the approximation is doubtful: over 20% of expected counts under 5, or any under 1.
    pub fn small_expected_warning(&self) -> bool {
        self.small_expected_share > 0.2 || self.expected.iter().flatten().any(|&e| e < 1.0)
    }
}

/// Tests independence of rows and columns. Rows or columns that sum to zero are dropped
/// first; `None` when fewer than two rows or two columns remain.
pub fn chi_square(table: &[Vec<f64>]) -> Option<ChiSquare> {
    let ncol = table.first()?.len();
    let col_sums: Vec<f64> = (0..ncol).map(|j| table.iter().map(|r| r[j]).sum()).collect();
    let keep_cols: Vec<usize> = (0..ncol).filter(|&j| col_sums[j] > 0.0).collect();
    let rows: Vec<Vec<f64>> = table
        .iter()
        .filter(|r| r.iter().sum::<f64>() > 0.0)
        .map(|r| keep_cols.iter().map(|&j| r[j]).collect())
        .collect();
    if rows.len() < 2 || keep_cols.len() < 2 {
        return None;
    }
    let n: f64 = rows.iter().flatten().sum();
    let rs: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
    let cs: Vec<f64> = (0..keep_cols.len()).map(|j| rows.iter().map(|r| r[j]).sum()).collect();
    let mut stat = 0.0;
    let mut expected = Vec::new();
    let mut residuals = Vec::new();
    let mut small = 0usize;
    for (i, r) in rows.iter().enumerate() {
        let mut er = Vec::new();
        let mut rr = Vec::new();
        for (j, &o) in r.iter().enumerate() {
            let e = rs[i] * cs[j] / n;
            if e < 5.0 {
                small += 1;
            }
            stat += (o - e) * (o - e) / e;
            let v = e * (1.0 - rs[i] / n) * (1.0 - cs[j] / n);
            rr.push(if v > 0.0 { (o - e) / v.sqrt() } else { 0.0 });
            er.push(e);
        }
        expected.push(er);
        residuals.push(rr);
    }
    let df = (rows.len() - 1) * (keep_cols.len() - 1);
    let cells = (rows.len() * keep_cols.len()) as f64;
    Some(ChiSquare {
        statistic: stat,
        df,
        p_value: chi2_sf(stat, df as f64),
        expected,
        residuals,
        small_expected_share: small as f64 / cells,
    })
}

/// Upper tail of the chi-square distribution: Q(df/2, x/2).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_q(df / 2.0, x / 2.0)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9).
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised upper incomplete gamma function Q(a, x).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x < a + 1.0 {
        // Series for P, then Q = 1 - P.
        let mut sum = 1.0 / a;
        let mut term = sum;
        let mut ap = a;
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        let p = sum * (-x + a * x.ln() - ln_gamma(a)).exp();
        (1.0 - p).clamp(0.0, 1.0)
    } else {
        // Continued fraction (Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        ((-x + a * x.ln() - ln_gamma(a)).exp() * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agresti_party_identification_by_gender() {
        // Agresti, An Introduction to Categorical Data Analysis (2nd ed.), Tables 2.5 and 2.6:
        // X² = 30.07, df = 2; adjusted residuals 4.50, 0.70, -5.32 (females).
        let t = vec![vec![762.0, 327.0, 468.0], vec![484.0, 239.0, 477.0]];
        let r = chi_square(&t).unwrap();
        assert!((r.statistic - 30.07).abs() < 0.01, "{}", r.statistic);
        assert_eq!(r.df, 2);
        assert!(r.p_value < 1e-6 && r.p_value > 1e-7, "{}", r.p_value);
        let res = &r.residuals[0];
        assert!((res[0] - 4.50).abs() < 0.01, "{res:?}");
        assert!((res[1] - 0.70).abs() < 0.01, "{res:?}");
        assert!((res[2] + 5.32).abs() < 0.01, "{res:?}");
        assert!((r.residuals[1][2] - 5.32).abs() < 0.01);
        assert!(!r.small_expected_warning());
    }

    #[test]
    fn p_values_at_known_quantiles() {
        assert!((chi2_sf(3.841_458_820_694_124, 1.0) - 0.05).abs() < 1e-9);
        assert!((chi2_sf(5.991_464_547_107_979, 2.0) - 0.05).abs() < 1e-9);
        assert!((chi2_sf(18.307_038_053_275_146, 10.0) - 0.05).abs() < 1e-9);
        assert!((chi2_sf(0.454_936_423_119_572_7, 1.0) - 0.5).abs() < 1e-9);
        assert_eq!(chi2_sf(0.0, 3.0), 1.0);
    }

    #[test]
    fn degenerate_tables() {
        assert!(chi_square(&[vec![1.0, 2.0]]).is_none());
        assert!(chi_square(&[vec![0.0, 0.0], vec![0.0, 0.0]]).is_none());
        // An empty column is dropped: df = 1.
        let r = chi_square(&[vec![3.0, 0.0, 1.0], vec![1.0, 0.0, 3.0]]).unwrap();
        assert_eq!(r.df, 1);
        assert!(r.small_expected_warning());
    }
}
