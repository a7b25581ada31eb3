//! Bounded NDJSON framing: a line decoder for input, one serialized writer for output.

use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Notify};

/// Largest frame either side may send (1 MiB).
pub const MAX_FRAME_BYTES: usize = 1_048_576;

/// Frames that may wait for the writer; senders wait (backpressure) beyond it.
pub(crate) const OUT_QUEUE_FRAMES: usize = 4096;

/// A line the decoder could not turn into a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum BadLine {
    /// Longer than the frame limit; skipped up to its newline without being buffered.
    TooLarge,
    /// Not UTF-8.
    InvalidUtf8,
    /// Not JSON; carries the parser's message.
    InvalidJson(String),
}

impl BadLine {
    /// `too_large`, `invalid_utf8` or `invalid_json`, as logged.
    pub fn kind(&self) -> &'static str {
        match self {
            BadLine::TooLarge => "too_large",
            BadLine::InvalidUtf8 => "invalid_utf8",
            BadLine::InvalidJson(_) => "invalid_json",
        }
    }
}

/// Line splitter for stdin: bounded (a line over `max` bytes is reported once
/// and skipped up to its newline without being buffered), CRLF-tolerant, skips
/// blank lines, reports invalid UTF-8 and non-JSON lines. It only frames;
/// dispatch lives elsewhere.
#[derive(Debug)]
pub struct LineDecoder {
    max: usize,
    buf: Vec<u8>,
    skipping: bool,
}

impl LineDecoder {
    /// A decoder refusing lines over `max` bytes.
    pub fn new(max: usize) -> Self {
        LineDecoder { max, buf: Vec::new(), skipping: false }
    }

    /// Feed a chunk; `out` gets each complete line's value (or why it was bad), in order.
    pub fn push(&mut self, chunk: &[u8], out: &mut impl FnMut(Result<Value, BadLine>)) {
        let mut start = 0;
        loop {
            let Some(i) = chunk[start..].iter().position(|&b| b == b'\n') else {
                let rest = &chunk[start..];
                if !rest.is_empty() && !self.skipping {
                    if self.buf.len() + rest.len() > self.max + 1 {
                        out(Err(BadLine::TooLarge));
                        self.reset();
                        self.skipping = true;
                    } else {
                        self.buf.extend_from_slice(rest);
                    }
                }
                return;
            };
            let nl = start + i;
            if self.skipping {
                self.skipping = false;
            } else if self.buf.len() + (nl - start) > self.max + 1 {
                out(Err(BadLine::TooLarge));
                self.reset();
            } else if self.buf.is_empty() {
                self.line(&chunk[start..nl], out);
            } else {
                let mut line = std::mem::take(&mut self.buf);
                line.extend_from_slice(&chunk[start..nl]);
                self.line(&line, out);
                line.clear();
                self.buf = line;
                self.shrink();
            }
            start = nl + 1;
        }
    }

    /// End of input: a last line without a newline still counts.
    pub fn end(&mut self, out: &mut impl FnMut(Result<Value, BadLine>)) {
        if !self.skipping && !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.line(&line, out);
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.shrink();
    }

    /// Give back the memory of one huge line instead of holding 1 MiB forever.
    fn shrink(&mut self) {
        if self.buf.capacity() > 64 * 1024 {
            self.buf.shrink_to(64 * 1024);
        }
    }

    fn line(&self, raw: &[u8], out: &mut impl FnMut(Result<Value, BadLine>)) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            return;
        }
        if raw.len() > self.max {
            return out(Err(BadLine::TooLarge));
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return out(Err(BadLine::InvalidUtf8));
        };
        if text.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => out(Ok(v)),
            Err(e) => out(Err(BadLine::InvalidJson(e.to_string()))),
        }
    }
}

/// Serialize one frame as a line (compact JSON, UTF-8 unescaped, `\n`), refusing one over `max` bytes.
pub(crate) fn encode_frame(frame: &impl serde::Serialize, max: usize) -> Result<Vec<u8>, crate::FrameError> {
    let mut line = serde_json::to_vec(frame).map_err(crate::FrameError::Json)?;
    if line.len() > max {
        return Err(crate::FrameError::TooLarge { bytes: line.len(), limit: max });
    }
    line.push(b'\n');
    Ok(line)
}

/// What the writer thread receives.
pub(crate) enum Outgoing {
    /// One encoded line.
    Frame(Vec<u8>),
    /// Flush everything before this marker, then answer.
    Flush(oneshot::Sender<()>),
}

/// The one writer: a thread that owns the real stdout and writes whole lines in
/// arrival order, batching what is already queued into one flush
/// (vscode-jsonrpc's one-writer rule). On a write error it signals
/// `on_closed` once and keeps draining (discarding) so no sender blocks forever.
pub(crate) fn spawn_writer(mut rx: mpsc::Receiver<Outgoing>, out: Box<dyn Write + Send>, on_closed: Arc<Notify>) -> io::Result<()> {
    std::thread::Builder::new().name("nexo-frame-writer".into()).spawn(move || {
        let mut w = BufWriter::with_capacity(64 * 1024, out);
        let mut broken = false;
        let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Outgoing::Frame(line) => {
                        if !broken && w.write_all(&line).is_err() {
                            broken = true;
                            on_closed.notify_one();
                        }
                    }
                    Outgoing::Flush(done) => flushes.push(done),
                }
                next = rx.try_recv().ok();
            }
            if !broken && w.flush().is_err() {
                broken = true;
                on_closed.notify_one();
            }
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
        let _ = w.flush();
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(chunks: &[&[u8]], max: usize) -> Vec<Result<Value, BadLine>> {
        let mut d = LineDecoder::new(max);
        let mut got = Vec::new();
        for c in chunks {
            d.push(c, &mut |r| got.push(r));
        }
        d.end(&mut |r| got.push(r));
        got
    }

    #[test]
    fn splits_lines_across_chunks_with_crlf_and_blank_lines() {
        let got = decode(&[b"{\"a\":", b"1}\r\n\n  \n[2]\n{\"b\"", b":3}"], 1024);
        assert_eq!(got, vec![Ok(json!({ "a": 1 })), Ok(json!([2])), Ok(json!({ "b": 3 }))]);
    }

    #[test]
    fn reports_bad_lines_and_keeps_going() {
        let got = decode(&[b"not json\n\xff\xfe\n{\"ok\":true}\n"], 1024);
        assert_eq!(got[0], Err(BadLine::InvalidJson("expected ident at line 1 column 2".into())));
        assert_eq!(got[1], Err(BadLine::InvalidUtf8));
        assert_eq!(got[2], Ok(json!({ "ok": true })));
    }

    #[test]
    fn an_over_limit_line_is_reported_once_and_skipped_without_buffering() {
        let mut d = LineDecoder::new(16);
        let mut got = Vec::new();
        d.push(b"{\"x\":\"0123456789", &mut |r| got.push(r));
        d.push(b"0123456789", &mut |r| got.push(r));
        assert_eq!(got, vec![Err(BadLine::TooLarge)]);
        assert!(d.buf.is_empty(), "nothing held while skipping");
        d.push(b"still the same line\n[1]\n", &mut |r| got.push(r));
        assert_eq!(got, vec![Err(BadLine::TooLarge), Ok(json!([1]))]);
        // Exactly at the limit passes; one byte over does not.
        let at = format!("\"{}\"\n", "a".repeat(14));
        let over = format!("\"{}\"\n", "a".repeat(15));
        assert_eq!(decode(&[at.as_bytes()], 16), vec![Ok(json!("a".repeat(14)))]);
        assert_eq!(decode(&[over.as_bytes()], 16), vec![Err(BadLine::TooLarge)]);
    }

    #[test]
    fn utf8_survives_a_chunk_boundary_inside_a_character() {
        let line = "{\"s\":\"😀 日本語\"}\n".as_bytes();
        let got = decode(&[&line[..8], &line[8..]], 1024);
        assert_eq!(got, vec![Ok(json!({ "s": "😀 日本語" }))]);
    }

    #[test]
    fn encode_frame_is_one_compact_unescaped_line_and_refuses_oversize() {
        let line = encode_frame(&json!({ "s": "é\u{1}" }), 1024).unwrap();
        assert_eq!(String::from_utf8(line).unwrap(), "{\"s\":\"é\\u0001\"}\n");
        let big = json!({ "s": "x".repeat(100) });
        assert!(matches!(encode_frame(&big, 50), Err(crate::FrameError::TooLarge { limit: 50, .. })));
    }
}
