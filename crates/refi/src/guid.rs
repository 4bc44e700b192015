//! GUIDs: stable name-based UUIDs for what we write, and lenient comparison of what we read.

use uuid::Uuid;

/// The namespace of every UUID this crate makes (a fixed random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x5f0c_7a3e_9b21_4d8e_a6f4_2c91_d0b7_3e58);

/// A UUID v5 from parts joined by U+001F (so that parts cannot run into each other),
/// lower-case and hyphenated.
pub(crate) fn v5(parts: &[&str]) -> String {
    Uuid::new_v5(&NAMESPACE, parts.join("\u{1f}").as_bytes()).hyphenated().to_string()
}

/// The GUID of a code in exports: a UUID v5 of the project key and the code id, lower-case and
/// hyphenated, so the same code keeps its GUID across exports and other programs can match it.
///
/// ```
/// let g = fieldnotes_refi::code_guid("study", "trust");
/// assert_eq!(g, fieldnotes_refi::code_guid("study", "trust"));
/// assert_ne!(g, fieldnotes_refi::code_guid("other", "trust"));
/// assert_eq!(g.len(), 36);
/// assert_eq!(g.as_bytes()[14], b'5');
/// ```
pub fn code_guid(project_key: &str, code_id: &str) -> String {
    v5(&["code", project_key, code_id])
}

/// The GUID of a coder: stable from the name alone, the same in every project.
pub(crate) fn user_guid(coder: &str) -> String {
    v5(&["user", coder])
}

/// A GUID as compared: trimmed, braces removed, lower case.
pub(crate) fn normalize(g: &str) -> String {
    let t = g.trim();
    let t = t.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(t);
    t.to_ascii_lowercase()
}

/// True for `8-4-4-4-12` hex digits, optionally in braces, in either case (the schemas' GUIDType).
pub(crate) fn is_valid(g: &str) -> bool {
    let t = g.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(g);
    let parts: Vec<&str> = t.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_forms() {
        assert!(is_valid("088B08AC-D5CD-4ADB-8B71-B4F3459C177F"));
        assert!(is_valid("{088b08ac-d5cd-4adb-8b71-b4f3459c177f}"));
        assert!(!is_valid("c001"));
        assert!(!is_valid("{088b08ac-d5cd-4adb-8b71-b4f3459c177f"));
        assert!(!is_valid("088b08ac-d5cd-4adb-8b71-b4f3459c177g"));
        assert_eq!(normalize(" {088B08AC-D5CD-4ADB-8B71-B4F3459C177F} "), "088b08ac-d5cd-4adb-8b71-b4f3459c177f");
        let g = code_guid("k", "a");
        assert!(is_valid(&g));
        assert_eq!(g, g.to_lowercase());
        assert_ne!(code_guid("k", "a"), code_guid("k", "b"));
        // Parts cannot run into each other.
        assert_ne!(v5(&["ab", "c"]), v5(&["a", "bc"]));
        assert_eq!(user_guid("alice"), user_guid("alice"));
    }
}
