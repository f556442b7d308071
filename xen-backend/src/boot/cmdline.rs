//! The kernel command line (`hvm_start_info.cmdline_paddr`).
//!
//! Xen copies the domain's `extra=` string into guest memory as a
//! NUL-terminated byte string and passes its physical address (0 = none).
//! The image sees it as a `&'static str`: the bytes stay where Xen put them,
//! and the heap is chosen so that it never covers them
//! ([`super::memory`]). A string that is not UTF-8 is an error the boot
//! reports, never a silent substitution.

use core::fmt;

/// Longest command line read; Xen's own limit is 1024 bytes
/// (`MAX_GUEST_CMDLINE`), the rest is a guard against a missing NUL.
pub const MAX_CMDLINE: usize = 4096;

/// Why the command line is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdlineError {
    /// No NUL within [`MAX_CMDLINE`] bytes.
    Unterminated,
    /// Not UTF-8; `valid_up_to` bytes were.
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
}

impl fmt::Display for CmdlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdlineError::Unterminated => {
                write!(
                    f,
                    "command line has no NUL in its first {MAX_CMDLINE} bytes"
                )
            }
            CmdlineError::NotUtf8 { valid_up_to } => write!(
                f,
                "command line is not UTF-8 (invalid byte at offset {valid_up_to})"
            ),
        }
    }
}

impl core::error::Error for CmdlineError {}

/// The command line in `window` (the bytes from `cmdline_paddr` on, at
/// most [`MAX_CMDLINE`]): up to the first NUL, as UTF-8. Leading and
/// trailing spaces are kept: the image decides how to split words.
pub fn parse(window: &[u8]) -> Result<&str, CmdlineError> {
    let len = window
        .iter()
        .take(MAX_CMDLINE)
        .position(|&b| b == 0)
        .ok_or(CmdlineError::Unterminated)?;
    core::str::from_utf8(&window[..len]).map_err(|e| CmdlineError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })
}

/// Length of the NUL-terminated string at `paddr`, including the NUL, at
/// most [`MAX_CMDLINE`] (what [`read`] takes as a slice).
///
/// # Safety
/// `paddr` is identity mapped and readable for the bytes up to and
/// including the first NUL or [`MAX_CMDLINE`] bytes, whichever comes first.
pub unsafe fn window_len(paddr: u64) -> usize {
    let p = paddr as usize as *const u8;
    let mut n = 0;
    while n < MAX_CMDLINE {
        // SAFETY: the caller's contract covers every byte up to the NUL.
        let b = unsafe { p.add(n).read_volatile() };
        n += 1;
        if b == 0 {
            break;
        }
    }
    n
}

/// The command line Xen placed at `paddr` (0: none → `""`).
///
/// # Safety
/// As [`window_len`]; and the bytes are never written again (the heap and
/// everything else stay clear of them) for the rest of the program.
pub unsafe fn read(paddr: u64) -> Result<&'static str, CmdlineError> {
    if paddr == 0 {
        return Ok("");
    }
    // SAFETY: forwarded contract.
    let len = unsafe { window_len(paddr) };
    // SAFETY: `len` bytes at `paddr` are mapped and readable (contract) and
    // immutable from now on, so a `'static` shared slice is sound.
    let window: &'static [u8] =
        unsafe { core::slice::from_raw_parts(paddr as usize as *const u8, len) };
    parse(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_the_nul() {
        assert_eq!(parse(b"exit=3\0garbage"), Ok("exit=3"));
        assert_eq!(parse(b"\0"), Ok(""));
        assert_eq!(parse(b" a  b \0"), Ok(" a  b "));
    }

    #[test]
    fn errors_are_reported() {
        assert_eq!(parse(b"no nul"), Err(CmdlineError::Unterminated));
        assert_eq!(
            parse(b"ab\xffc\0"),
            Err(CmdlineError::NotUtf8 { valid_up_to: 2 })
        );
        let long = [b'x'; MAX_CMDLINE + 1];
        assert_eq!(parse(&long), Err(CmdlineError::Unterminated));
    }
}
