//! The console as a `Flow`: read lines typed into the console and answer
//! each, until `quit` or the end of input — stdin and stdout on Unix, the
//! PV console ring on Xen (type into `xl console`).
//!
//! ```sh
//! printf 'hello\nquit\n' | cargo run --release --example console
//! xen-backend/testbed/run --example console \
//!     --dom0 'printf "hello\nquit\n" > $(xenstore-read /local/domain/$TESTBED_DOMID/console/tty)'
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

extern crate alloc;

use alloc::vec::Vec;

use shimmer::{Error, ErrorKind, Flow};

/// Longest line kept; a longer one is an error, not a growing buffer.
const MAX_LINE: usize = 1024;

#[shimmer::main]
async fn main() -> Result<(), Error> {
    let console = shimmer::console()?;
    console
        .write(b"console: type a line (quit to stop)\n")
        .await?;
    let mut line: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 256];
    let mut lines = 0;
    loop {
        let n = console.read_into(&mut chunk).await?;
        if n == 0 {
            break; // end of input
        }
        for &b in &chunk[..n] {
            if b != b'\n' {
                if line.len() == MAX_LINE {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format_args!("a console line is longer than {MAX_LINE} bytes"),
                    ));
                }
                line.push(b);
                continue;
            }
            // A terminal may send CR LF.
            let text = line.strip_suffix(b"\r").unwrap_or(&line);
            if text == b"quit" {
                console
                    .writev(&[b"console: bye after ", count(lines).as_bytes(), b"\n"])
                    .await?;
                return Ok(console.close().await?);
            }
            lines += 1;
            console
                .writev(&[b"console: you typed `", text, b"`\n"])
                .await?;
            line.clear();
        }
    }
    console
        .writev(&[
            b"console: end of input after ",
            count(lines).as_bytes(),
            b"\n",
        ])
        .await?;
    Ok(console.close().await?)
}

/// "N line(s)".
fn count(lines: usize) -> alloc::string::String {
    alloc::format!("{lines} line{}", if lines == 1 { "" } else { "s" })
}
