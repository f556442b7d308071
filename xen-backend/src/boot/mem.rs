//! `memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`.
//!
//! Why: the compiler lowers copies, fills and comparisons to calls of these
//! C symbols, and the prebuilt `core`/`alloc` of the host target call them
//! too. A hosted program gets them from libc; the image links with
//! `-nostdlib`, and the host target's `compiler_builtins` only has weak
//! fallbacks on some targets — this module gives strong definitions so the
//! image never depends on what a toolchain version happens to ship.
//!
//! The copies and fills are `rep movsb`/`rep stosb` in inline assembly:
//! short, fast on every CPU with ERMSB, and — unlike a Rust loop — never
//! turned back into a call to the very function being defined. The
//! comparisons are byte loops, which LLVM does not turn into calls.

#[cfg(not(test))]
mod symbols {
    use core::arch::asm;

    /// # Safety
    /// C's contract: `dst` and `src` are valid for `n` bytes and do not
    /// overlap.
    #[no_mangle]
    pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: C's contract (above): `rep movsb` copies `n` bytes from
        // `rsi` to `rdi` forwards (DF is clear: the entry does `cld` and the
        // ABI keeps it clear).
        unsafe {
            asm!(
                "rep movsb",
                inout("rcx") n => _,
                inout("rdi") dst => _,
                inout("rsi") src => _,
                options(nostack, preserves_flags)
            );
        }
        dst
    }

    /// # Safety
    /// C's contract: `dst` and `src` are valid for `n` bytes; they may
    /// overlap.
    #[no_mangle]
    pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        if (dst as usize).wrapping_sub(src as usize) >= n {
            // `dst` is below `src` or past its end: a forward copy never
            // overwrites a byte before reading it.
            // SAFETY: C's contract; forward copy is overlap-safe here.
            unsafe { memcpy(dst, src, n) };
        } else {
            // `dst` inside `src..src + n`: copy backwards, last byte first.
            // SAFETY: C's contract: both ranges are valid for `n` bytes, so
            // `n - 1` is in bounds (n > 0 here: n == 0 took the other branch,
            // as `x >= 0` always holds). `std` makes `rep movsb` go
            // downwards; `cld` restores the ABI's DF = 0.
            unsafe {
                asm!(
                    "std",
                    "rep movsb",
                    "cld",
                    inout("rcx") n => _,
                    inout("rdi") dst.add(n - 1) => _,
                    inout("rsi") src.add(n - 1) => _,
                    options(nostack)
                );
            }
        }
        dst
    }

    /// # Safety
    /// C's contract: `dst` is valid for `n` bytes.
    #[no_mangle]
    pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
        // SAFETY: C's contract: `rep stosb` stores `al` into `n` bytes from
        // `rdi` forwards (DF clear).
        unsafe {
            asm!(
                "rep stosb",
                inout("rcx") n => _,
                inout("rdi") dst => _,
                in("al") c as u8,
                options(nostack, preserves_flags)
            );
        }
        dst
    }

    /// # Safety
    /// C's contract: `a` and `b` are valid for `n` bytes.
    #[no_mangle]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // SAFETY: `i < n` and C's contract.
            let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
        }
        0
    }

    /// # Safety
    /// C's contract: `a` and `b` are valid for `n` bytes.
    #[no_mangle]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: same contract.
        unsafe { memcmp(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    // The symbols are not compiled into the host test binary (libc's are
    // used there); their only logic beyond the instructions is memmove's
    // direction test, checked here on the same expression.
    fn forward_is_safe(dst: usize, src: usize, n: usize) -> bool {
        dst.wrapping_sub(src) >= n
    }

    #[test]
    fn memmove_direction() {
        assert!(forward_is_safe(100, 200, 50), "dst below src");
        assert!(forward_is_safe(100, 200, 150), "dst below src, overlapping");
        assert!(forward_is_safe(300, 200, 100), "dst right after src");
        assert!(!forward_is_safe(250, 200, 100), "dst inside src: backwards");
        assert!(forward_is_safe(200, 200, 0), "empty");
        assert!(!forward_is_safe(200, 200, 1), "same address: either works");
    }
}
