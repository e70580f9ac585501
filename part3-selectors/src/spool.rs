//! Large request bodies wait in a temporary file, not in memory.
//!
//! The loop reads a whole body before the app runs, so that the app never
//! waits on a socket (and, in part 4, no worker does). In memory, that is
//! fine for a form and ruinous for uploads: 200 clients sending 16 MiB at
//! once would cost 3.1 GiB. So a body stays in memory up to
//! [`Limits::body_in_memory`](part2_gateway::request::Limits) and goes to
//! a file past it, as nginx does (`client_body_buffer_size`, then a file
//! in `client_body_temp_path`) and Python's `cgi.FieldStorage` (a
//! `tempfile` past 1000 bytes). The app reads `wsgi.input` the same way
//! whichever it is.
//!
//! The file has a name, so that it can be seen while it is in use, and
//! whoever holds the body last removes it: a drop guard, so it goes when
//! the request ends, on an error, a reset or a shutdown alike.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use part1_hello::cli::{CliError, Flag, Parsed};
use part2_gateway::environ::{Environ, ServerInfo};
use part2_gateway::request::RequestHead;

use crate::event_loop::Config;

// ANCHOR: spool
/// A request body as it arrives: in memory while it is small, then in a
/// temporary file.
#[derive(Debug, Default)]
pub struct Spool {
    /// The whole body while it is small; once it is in the file, only
    /// the bytes decoded since the last write.
    mem: Vec<u8>,
    /// The file, once the body outgrew memory. Boxed: a connection that
    /// never gets a large body pays one pointer for it.
    file: Option<Box<SpoolFile>>,
}

impl Spool {
    /// Where the body decoder appends the bytes it decodes.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.mem
    }

    /// Moves the decoded bytes to the file, once the body is larger than
    /// `in_memory` bytes; the file is made in `dir` the first time.
    pub fn settle(&mut self, in_memory: usize, dir: &Path) -> io::Result<()> {
        if self.file.is_none() && self.mem.len() <= in_memory {
            return Ok(()); // small so far: it stays in memory
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(Box::new(SpoolFile::create(dir)?)),
        };
        file.write_all(&self.mem)?;
        if self.mem.capacity() > in_memory {
            // The buffer that held the small body: from now on it only
            // holds one read's bytes at a time.
            self.mem = Vec::new();
        }
        self.mem.clear();
        Ok(())
    }

    /// The body is whole: ready for the app to read from the start.
    pub fn finish(self) -> io::Result<RequestBody> {
        match self.file {
            None => Ok(RequestBody::Memory(self.mem)),
            Some(mut file) => {
                file.file()?.rewind()?;
                Ok(RequestBody::File(file))
            }
        }
    }
}
// ANCHOR_END: spool

/// A whole request body, as the app will read it.
#[derive(Debug)]
pub enum RequestBody {
    /// A small body, in memory.
    Memory(Vec<u8>),
    /// A large one, in its temporary file.
    File(Box<SpoolFile>),
}

impl Default for RequestBody {
    /// No body: no allocation, no file.
    fn default() -> Self {
        RequestBody::Memory(Vec::new())
    }
}

impl RequestBody {
    /// The environ for `head` with this body as `wsgi.input`. The file
    /// goes with it: whoever drops the environ (or takes the body from
    /// it, as `echo` does) removes the file.
    pub fn environ<'a>(
        self,
        head: &'a RequestHead,
        info: &ServerInfo,
    ) -> Environ<'a> {
        match self {
            RequestBody::Memory(bytes) => Environ::with_body(head, info, bytes),
            RequestBody::File(file) => {
                let len = file.len;
                Environ::with_body_reader(head, info, file, len)
            }
        }
    }
}

/// A temporary file that holds one request body, removed when dropped.
#[derive(Debug)]
pub struct SpoolFile {
    /// `None` only while dropping: the file is closed before it is
    /// removed (Windows cannot remove an open file).
    file: Option<File>,
    path: PathBuf,
    /// Bytes written.
    len: u64,
}

/// Tells apart the files of one process; the pid, those of two.
static NEXT: AtomicU64 = AtomicU64::new(0);

impl SpoolFile {
    /// A new, empty file in `dir`, readable by this user only (a body may
    /// hold passwords): `create_new` never opens someone else's file.
    fn create(dir: &Path) -> io::Result<Self> {
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name =
                format!("socket-to-server-{}-{n}.body", std::process::id());
            let path = dir.join(name);
            let mut options = OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(file) => {
                    let file = Some(file);
                    return Ok(SpoolFile { file, path, len: 0 });
                }
                // Left over from an earlier process with our pid.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| io::Error::other("closed"))
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file()?.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many bytes of body it holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds no body at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for SpoolFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.file()?.read(out)
    }
}

// ANCHOR: spool-drop
/// The guard: however the request ends (answered, refused, reset, shut
/// down), whoever drops its body last removes the file.
impl Drop for SpoolFile {
    fn drop(&mut self) {
        // Closed first: Windows cannot remove an open file.
        drop(self.file.take());
        // Already gone (someone cleaned the directory): nothing to do.
        let _ = fs::remove_file(&self.path);
    }
}
// ANCHOR_END: spool-drop

/// `--body-in-memory`, for the binaries of parts 3 and 4.
pub const IN_MEMORY_FLAG: Flag = Flag {
    name: "body-in-memory",
    value: Some("BYTES"),
    help: "the most of a request body kept in memory; past it the body \
           waits in a temporary file (default 65536)",
};

/// `--spool-dir`, for the binaries of parts 3 and 4.
pub const DIR_FLAG: Flag = Flag {
    name: "spool-dir",
    value: Some("DIR"),
    help: "where those files go (default: the system's temporary directory)",
};

/// Both flags.
pub const FLAGS: &[Flag] = &[IN_MEMORY_FLAG, DIR_FLAG];

/// Applies [`FLAGS`] to `config`.
pub fn configure(parsed: &Parsed, config: &mut Config) -> Result<(), CliError> {
    let in_memory = config.limits.body_in_memory;
    config.limits.body_in_memory =
        parsed.parse_or(IN_MEMORY_FLAG.name, in_memory)?;
    if let Some(dir) = parsed.value(DIR_FLAG.name) {
        config.spool_dir = PathBuf::from(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
