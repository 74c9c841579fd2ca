//! Unix signals as a blocking wait: the handler writes the signal number to a pipe, and the main
//! thread reads it. Nothing but the write happens inside the handler.

use std::sync::atomic::{AtomicI32, Ordering};

static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    let fd = PIPE_WRITE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; the fd stays open for the process lifetime.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Receives SIGTERM, SIGINT and SIGHUP.
pub struct Signals {
    read_fd: libc::c_int,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: plain syscalls with valid pointers; the handler only calls write(2).
        unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            PIPE_WRITE.store(fds[1], Ordering::Relaxed);
            for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(Signals { read_fd: fds[0] })
    }

    /// Blocks until a signal arrives and returns its number.
    pub fn wait(&self) -> libc::c_int {
        let mut byte = 0u8;
        loop {
            // SAFETY: reading one byte into a valid buffer.
            let n = unsafe { libc::read(self.read_fd, (&mut byte as *mut u8).cast(), 1) };
            if n == 1 {
                return byte as libc::c_int;
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit: every client connection and every
/// upstream connection is a descriptor, and the usual soft limit of 1024 is low for a gateway.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                log::debug!("could not raise the open-file limit");
            }
        }
    }
}
