//! A file of the run folder, written and hashed by a thread of its own: the writers hand it a
//! chunk of text and go on formatting the next while the last is hashed (SHA-256, for the
//! manifest) and written. Hashing and writing are a fifth of a run's work; on the two cores of
//! the benchmark machine this takes them off the formatting's path (GAIN? measured). Chunks
//! come back empty for reuse, so a run allocates a handful of buffers, not one per chunk.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::WriteError;
use super::manifest::{FileEntry, HashingWriter};

/// How much text the writers gather before handing it over: few hand-overs, little memory.
pub(super) const CHUNK: usize = 1 << 16;

// Chunks waiting for the writer thread: the formatting may run this far ahead.
const QUEUED: usize = 2;

/// A file being written by its own thread.
pub(super) struct OutputFile {
    name: &'static str,
    path: PathBuf,
    chunks: SyncSender<Vec<u8>>,
    empties: Receiver<Vec<u8>>,
    writer: JoinHandle<io::Result<(u64, String)>>,
}

impl OutputFile {
    /// Creates `name` in `dir` and starts its writer.
    pub(super) fn create(dir: &std::path::Path, name: &'static str) -> Result<Self, WriteError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| WriteError {
            path: path.clone(),
            source,
        })?;
        let (chunks, full) = sync_channel::<Vec<u8>>(QUEUED);
        let (recycle, empties) = sync_channel::<Vec<u8>>(QUEUED + 1);
        let writer = std::thread::spawn(move || {
            let mut out = HashingWriter::new(file);
            for mut chunk in full {
                out.write_all(&chunk)?;
                chunk.clear();
                // Refused when the formatting has buffers enough, or is done: then dropped.
                recycle.try_send(chunk).ok();
            }
            out.finish()
        });
        Ok(Self {
            name,
            path,
            chunks,
            empties,
            writer,
        })
    }

    /// Hands `text` over to be written, leaving an empty buffer in its place. An error means
    /// the writer stopped; [`OutputFile::finish`] says why.
    pub(super) fn put(&mut self, text: &mut Vec<u8>) -> io::Result<()> {
        let empty = self
            .empties
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(2 * CHUNK));
        self.chunks
            .send(std::mem::replace(text, empty))
            .map_err(|_| io::Error::other(format!("the writer of {} stopped", self.name)))
    }

    /// Waits for every chunk to be written; the file's manifest entry, or why it failed.
    pub(super) fn finish(self) -> Result<FileEntry, WriteError> {
        let Self {
            name,
            path,
            chunks,
            writer,
            ..
        } = self;
        // The writer's loop ends once it has every chunk.
        drop(chunks);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
        let (size, sha256) = written.map_err(|source| WriteError { path, source })?;
        Ok(FileEntry {
            name: name.to_owned(),
            size,
            sha256,
        })
    }
}
