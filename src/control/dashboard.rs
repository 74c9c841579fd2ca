//! The web dashboard at `/dashboard`: files from `web/`, embedded in the binary.
//! (Being written.)

use crate::server::Reply;

/// The reply for a dashboard path (`/dashboard`, `/dashboard/`, `/dashboard/<file>`), or `None`
/// for an unknown file.
pub fn serve(_path: &str) -> Option<Reply> {
    None
}
