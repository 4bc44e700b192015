//! The merge policy: segments of similar size merged a few at a time, up to a bound, so that
//! no merge holds most of a large index at once.

/// Passages in a segment a merge may produce. tantivy's own policy merges segments into ever
/// larger ones; a merge maps every segment it reads, and at 2 GB of notes the last merges took
/// the indexing process past 1 GB of resident memory. With segments of up to this many
/// passages it peaked at 713 MB there (21 segments for 4.5 million passages; a project of
/// 100 MB has two to four, as before).
pub const MAX_MERGED_PASSAGES: u32 = 400_000;

/// Fewest segments merged at once (fewer would rewrite the same passages over and over).
pub(crate) const MIN_MERGE_SEGMENTS: usize = 3;

/// Size ratio within one merge: its largest segment has at most this many times the passages
/// of its smallest, so a one-note change does not rewrite the segments beside it.
pub(crate) const MERGE_SIZE_RATIO: u32 = 4;

/// Merges that run at once. Each maps the segments it reads, and the pages it reads stay
/// resident until it ends; tantivy's default of four let the merges after re-indexing every
/// note of a 2 GB project hold over a gigabyte.
pub(crate) const MERGE_THREADS: usize = 1;

/// The merge policy: a segment of which half or more of the passages were deleted (its notes
/// re-indexed) is rewritten on its own, so that no merge reads many segments of mostly deleted
/// passages at once; other segments merge with segments of similar size, at least
/// [`MIN_MERGE_SEGMENTS`] at a time, into segments of at most [`MAX_MERGED_PASSAGES`] live
/// passages. Passages deleted from a segment no longer count, so a segment thinned by
/// re-indexed notes comes back into play.
#[derive(Debug)]
pub(crate) struct BoundedMerges;

impl tantivy::merge_policy::MergePolicy for BoundedMerges {
    fn compute_merge_candidates(
        &self,
        segments: &[tantivy::SegmentMeta],
    ) -> Vec<tantivy::merge_policy::MergeCandidate> {
        let mut out = Vec::new();
        let mut small: Vec<&tantivy::SegmentMeta> = Vec::new();
        for s in segments {
            if s.num_deleted_docs() > 0 && s.num_deleted_docs() >= s.num_docs() {
                out.push(tantivy::merge_policy::MergeCandidate(vec![s.id()]));
            } else if s.num_docs() < MAX_MERGED_PASSAGES / 2 {
                small.push(s);
            }
        }
        small.sort_by_key(|s| s.num_docs());
        let (mut group, mut first, mut total) = (Vec::new(), 0u32, 0u32);
        for s in small {
            let n = s.num_docs();
            if group.is_empty() || total + n > MAX_MERGED_PASSAGES || n > first.max(1) * MERGE_SIZE_RATIO {
                if group.len() >= MIN_MERGE_SEGMENTS {
                    out.push(tantivy::merge_policy::MergeCandidate(std::mem::take(&mut group)));
                }
                group.clear();
                (first, total) = (n, 0);
            }
            group.push(s.id());
            total += n;
        }
        if group.len() >= MIN_MERGE_SEGMENTS {
            out.push(tantivy::merge_policy::MergeCandidate(group));
        }
        out
    }
}
