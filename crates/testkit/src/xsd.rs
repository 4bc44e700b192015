//! XML Schema validation through the system's libxml2.
//!
//! The `libxml` crate would do this, but it generates its bindings with bindgen at build time,
//! which needs libclang, and a fresh machine of this project's image has libxml2 and its
//! headers but not libclang. The six functions used here have had the same C signatures since
//! libxml2 2.6, so they are declared by hand.

use std::path::Path;

/// Why a file could not be checked, or what is wrong with it.
#[derive(Debug)]
pub enum Error {
    /// libxml2 was not found when this crate was built.
    Missing,
    /// The schema itself could not be read or compiled.
    Schema(String),
    /// The file is not valid against the schema (or not well-formed): libxml2's messages.
    Invalid(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Missing => f.write_str("libxml2 was not found when fieldnotes-testkit was built"),
            Error::Schema(m) => write!(f, "the schema could not be compiled: {m}"),
            Error::Invalid(m) => write!(f, "not valid: {m}"),
        }
    }
}

/// How to get what [`Error::Missing`] lacks.
pub const HOW_TO_GET: &str = "install libxml2's headers (`apt-get install libxml2-dev`) and rebuild";

/// For a test that checks files against schemas: true where it can, otherwise a visible
/// [`crate::skip`] (a failure in CI) and false.
pub fn usable(test: &str) -> bool {
    if available() {
        return true;
    }
    crate::skip(test, "libxml2 (for XML Schema validation)", HOW_TO_GET);
    false
}

/// Whether validation works here (libxml2 was found when this crate was built).
pub fn available() -> bool {
    cfg!(has_libxml2)
}

/// Checks `file` against the XML Schema `xsd`.
pub fn validate(xsd: &Path, file: &Path) -> Result<(), Error> {
    imp::validate(xsd, file)
}

#[cfg(not(has_libxml2))]
mod imp {
    use super::Error;
    use std::path::Path;

    pub fn validate(_: &Path, _: &Path) -> Result<(), Error> {
        Err(Error::Missing)
    }
}

#[cfg(has_libxml2)]
mod imp {
    use super::Error;
    use std::ffi::{CStr, CString, c_char, c_int, c_void};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::Mutex;

    #[repr(C)]
    struct Opaque {
        _private: [u8; 0],
    }

    /// The leading fields of libxml2's `xmlError` (the rest is not read).
    #[repr(C)]
    struct XmlError {
        domain: c_int,
        code: c_int,
        message: *const c_char,
        level: c_int,
        file: *const c_char,
        line: c_int,
    }

    type StructuredError = unsafe extern "C" fn(user: *mut c_void, error: *const XmlError);

    unsafe extern "C" {
        fn xmlInitParser();
        fn xmlSchemaNewParserCtxt(url: *const c_char) -> *mut Opaque;
        fn xmlSchemaSetParserStructuredErrors(ctxt: *mut Opaque, f: StructuredError, user: *mut c_void);
        fn xmlSchemaParse(ctxt: *mut Opaque) -> *mut Opaque;
        fn xmlSchemaFreeParserCtxt(ctxt: *mut Opaque);
        fn xmlSchemaNewValidCtxt(schema: *mut Opaque) -> *mut Opaque;
        fn xmlSchemaSetValidStructuredErrors(ctxt: *mut Opaque, f: StructuredError, user: *mut c_void);
        fn xmlSchemaValidateFile(ctxt: *mut Opaque, filename: *const c_char, options: c_int) -> c_int;
        fn xmlSchemaFreeValidCtxt(ctxt: *mut Opaque);
        fn xmlSchemaFree(schema: *mut Opaque);
    }

    /// Appends one message to the `Vec<String>` behind `user`.
    unsafe extern "C" fn collect(user: *mut c_void, error: *const XmlError) {
        if user.is_null() || error.is_null() {
            return;
        }
        // SAFETY: `user` is the `&mut Vec<String>` that `validate` passed, alive for the call;
        // `error` is libxml2's, valid for the duration of this callback.
        let (out, e) = unsafe { (&mut *user.cast::<Vec<String>>(), &*error) };
        let text = |p: *const c_char| {
            // SAFETY: libxml2's strings are NUL-terminated or null.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().trim_end().to_string())
        };
        let message = text(e.message).unwrap_or_else(|| format!("error {}", e.code));
        out.push(match text(e.file) {
            Some(file) => format!("{file}:{}: {message}", e.line),
            None => message,
        });
    }

    // libxml2 keeps global state (its parser's initialisation, the error handlers); tests run on
    // several threads, so one validation runs at a time.
    static LOCK: Mutex<()> = Mutex::new(());

    fn c_path(p: &Path) -> Result<CString, Error> {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Invalid(format!("`{}` has a NUL byte", p.display())))
    }

    pub fn validate(xsd: &Path, file: &Path) -> Result<(), Error> {
        let (xsd_c, file_c) = (c_path(xsd)?, c_path(file)?);
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut messages: Vec<String> = Vec::new();
        let user = (&mut messages as *mut Vec<String>).cast::<c_void>();
        // SAFETY: each pointer libxml2 returns is checked for null before use and freed once;
        // `user` outlives every call that may invoke `collect`, and the lock keeps other threads
        // out of libxml2 meanwhile.
        unsafe {
            xmlInitParser();
            let pctxt = xmlSchemaNewParserCtxt(xsd_c.as_ptr());
            if pctxt.is_null() {
                return Err(Error::Schema(format!("cannot open `{}`", xsd.display())));
            }
            xmlSchemaSetParserStructuredErrors(pctxt, collect, user);
            let schema = xmlSchemaParse(pctxt);
            xmlSchemaFreeParserCtxt(pctxt);
            if schema.is_null() {
                return Err(Error::Schema(format!("`{}`: {}", xsd.display(), messages.join("\n"))));
            }
            let vctxt = xmlSchemaNewValidCtxt(schema);
            if vctxt.is_null() {
                xmlSchemaFree(schema);
                return Err(Error::Schema("libxml2 could not make a validation context".into()));
            }
            xmlSchemaSetValidStructuredErrors(vctxt, collect, user);
            let rc = xmlSchemaValidateFile(vctxt, file_c.as_ptr(), 0);
            xmlSchemaFreeValidCtxt(vctxt);
            xmlSchemaFree(schema);
            match rc {
                0 => Ok(()),
                _ if messages.is_empty() => Err(Error::Invalid(format!("`{}`: libxml2 returned {rc}", file.display()))),
                _ => Err(Error::Invalid(messages.join("\n"))),
            }
        }
    }
}
