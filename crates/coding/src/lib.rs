//! Codebooks, rule-based auto-coding, the codings ledger and inter-coder agreement.
//!
//! ```
//! use fieldnotes_coding::{AutoCoder, Codebook};
//!
//! let book = Codebook::parse(r#"
//! [[code]]
//! id = "time"
//! description = "Investing time so that trust can grow."
//! [code.rules]
//! keywords = ["staff turnover", "trust"]
//! "#).unwrap();
//! let coder = AutoCoder::new(&book).unwrap();
//! let found = coder.code_passage("Staff turnover meant trusting new faces.", 0);
//! assert!(found[0].suggested);
//! assert_eq!(found[0].hits[1].text, "trusting");
//! ```
#![warn(missing_docs)]

pub mod agreement;
pub mod autocode;
pub mod codebook;
mod error;
pub mod learn;
pub mod ledger;
pub mod state;
pub mod table;
pub mod units;
pub mod versions;

pub use autocode::{AutoCoder, CodeMatch, Hit, PassageMatches};
pub use codebook::{Code, Codebook, Finding, Rules, Severity};
pub use error::{Error, Result};
pub use ledger::{Coding, Codings, Event, Ledger, Origin, Status};
pub use table::{CodingTable, TableParts};
pub use versions::{Anchorer, Versions};
