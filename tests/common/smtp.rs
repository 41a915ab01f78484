//! An in-process SMTP server for tests: `mailin`'s state machine behind a tokio accept
//! loop. It keeps every message it accepts and can be told to refuse the next one.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, CRLF line endings.
    pub data: String,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
    reject_next: Mutex<Option<u16>>,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

/// Start a sink on `127.0.0.1` at a free port.
pub async fn start() -> SmtpSink {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind SMTP sink");
    let addr = listener.local_addr().expect("SMTP sink address");
    let shared = Arc::new(Shared::default());
    let accept_shared = Arc::clone(&shared);
    let server = tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let shared = Arc::clone(&accept_shared);
            tokio::spawn(async move {
                if let Err(e) = serve(stream, peer.ip(), shared).await {
                    eprintln!("SMTP sink: connection from {peer} ended: {e}");
                }
            });
        }
    });
    SmtpSink {
        addr,
        shared,
        server,
    }
}

/// How long the mail helpers wait for a message.
pub const MAIL_WAIT: Duration = Duration::from_secs(15);

impl SmtpSink {
    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.messages.lock().expect("sink lock").clone()
    }

    /// Wait until at least `n` messages have arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so a message arriving in between
            // still wakes us.
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "SMTP sink: expected {n} message(s) within {timeout:?}, got {}",
                    self.messages().len()
                );
            }
        }
    }

    /// The messages to `to` whose text part contains `needle`, oldest first.
    pub fn matching(&self, to: &str, needle: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to) && decoded_text(&m.data).contains(needle))
            .collect()
    }

    /// Wait up to `MAIL_WAIT` for `n` messages to `to` containing `needle`; returns what
    /// arrived (fewer than `n` when the wait ran out: the caller's assertion says so).
    pub async fn mails_to(&self, to: &str, needle: &str, n: usize) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found = self.matching(to, needle);
            if found.len() >= n || tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return found;
            }
        }
    }

    /// The `nth` (0-based) message to `to` containing `needle`; panics when it does not
    /// arrive within `MAIL_WAIT`.
    pub async fn nth_mail_to(&self, to: &str, needle: &str, nth: usize) -> ReceivedMail {
        self.mails_to(to, needle, nth + 1)
            .await
            .into_iter()
            .nth(nth)
            .unwrap_or_else(|| panic!("no mail #{nth} to {to} containing {needle:?}"))
    }

    /// The first message to `to` containing `needle`, waiting for it.
    pub async fn mail_to(&self, to: &str, needle: &str) -> ReceivedMail {
        self.nth_mail_to(to, needle, 0).await
    }

    /// The text part of the first message (to anyone) containing every one of `needles`,
    /// waiting up to `MAIL_WAIT` for it.
    pub async fn text_with(&self, needles: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found = self
                .messages()
                .iter()
                .map(|m| decoded_text(&m.data))
                .find(|t| needles.iter().all(|n| t.contains(n)));
            if let Some(text) = found {
                return text;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("no mail containing all of {needles:?}");
            }
        }
    }

    /// The text part of the newest message to `to` containing `needle`, waiting for one.
    pub async fn newest_text_to(&self, to: &str, needle: &str) -> String {
        self.mail_to(to, needle).await;
        let newest = self.matching(to, needle).pop().expect("a mail arrived");
        decoded_text(&newest.data)
    }

    /// Answer the next `RCPT TO` with `code` (e.g. 550 for a permanent failure, 451 for a
    /// transient one), so the next message is refused.
    pub fn reject_next(&self, code: u16) {
        *self.shared.reject_next.lock().expect("sink lock") = Some(code);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(stream: TcpStream, peer: IpAddr, shared: Arc<Shared>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let handler = Sink {
        shared,
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut session = SessionBuilder::new("rightsdesk-test-sink").build(peer, handler);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        // mailin wants whole lines with their CRLF: `.\r\n` ends DATA.
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => write.write_all(&response.buffer()?).await?,
            Action::NoReply => {}
            // STARTTLS is not offered, so `UpgradeTls` cannot happen; close like `Close`.
            Action::Close | Action::UpgradeTls => {
                write.write_all(&response.buffer()?).await?;
                return Ok(());
            }
        }
    }
}

struct Sink {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Sink {
    fn rcpt(&mut self, _to: &str) -> Response {
        match self.shared.reject_next.lock().expect("sink lock").take() {
            Some(code) => Response::custom(code, "Refused by the test sink".into()),
            None => mailin::response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        self.shared.messages.lock().expect("sink lock").push(mail);
        self.shared.arrived.notify_waiters();
        mailin::response::OK
    }
}

// ---- reading what arrived ------------------------------------------------------------

/// The text/plain part of a message, with its transfer encoding undone.
pub fn decoded_text(data: &str) -> String {
    decoded_part(data, "text/plain")
        .unwrap_or_else(|| panic!("no text/plain part in message:\n{data}"))
}

/// The text/html part of a message, with its transfer encoding undone.
pub fn decoded_html(data: &str) -> String {
    decoded_part(data, "text/html")
        .unwrap_or_else(|| panic!("no text/html part in message:\n{data}"))
}

/// The first part of MIME type `mime` (searching nested multiparts), decoded.
pub fn decoded_part(data: &str, mime: &str) -> Option<String> {
    let data = data.replace("\r\n", "\n");
    find_part(&data, mime)
}

/// The first header `name` of the message (top level only), unfolded, with RFC 2047
/// encoded words (`=?utf-8?b?…?=`, which lettre uses for non-ASCII subjects) decoded.
pub fn header(data: &str, name: &str) -> Option<String> {
    raw_header(data, name).map(|v| decode_encoded_words(&v))
}

/// The first header `name` of the message (top level only), unfolded, as sent.
pub fn raw_header(data: &str, name: &str) -> Option<String> {
    let data = data.replace("\r\n", "\n");
    let (headers, _) = split_head(&data);
    headers
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Every top-level header name, in order.
pub fn header_names(data: &str) -> Vec<String> {
    let data = data.replace("\r\n", "\n");
    split_head(&data).0.into_iter().map(|(n, _)| n).collect()
}

fn find_part(entity: &str, mime: &str) -> Option<String> {
    let (headers, body) = split_head(entity);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let content_type = get("Content-Type").unwrap_or("text/plain");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.starts_with("multipart/") {
        let boundary = param(content_type, "boundary")?;
        let delimiter = format!("--{boundary}");
        // Parts sit between delimiter lines; the preamble before the first and
        // everything after the closing `--boundary--` are not parts.
        let separator = format!("\n{delimiter}");
        let mut parts = body.split(&separator);
        let first = parts.next()?;
        let mut rest: Vec<&str> = Vec::new();
        if let Some(after) = first.strip_prefix(&delimiter) {
            rest.push(after);
        }
        rest.extend(parts);
        for raw in rest {
            if raw.starts_with("--") {
                break;
            }
            let part = raw.strip_prefix('\n').unwrap_or(raw);
            if let Some(found) = find_part(part, mime) {
                return Some(found);
            }
        }
        return None;
    }
    if essence != mime {
        return None;
    }
    let encoding = get("Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => decode_base64(body),
        _ => body.as_bytes().to_vec(),
    };
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Headers (unfolded) and body of an entity whose lines end in `\n`.
fn split_head(entity: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match entity.find("\n\n") {
        Some(i) => (&entity[..i], &entity[i + 2..]),
        None => (entity, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    (headers, body)
}

/// RFC 2047: `=?charset?B|Q?text?=` words become their text; whitespace between two
/// encoded words is dropped. Only UTF-8 and ASCII charsets are expected from lettre.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut pending_space = String::new();
    let mut last_was_word = false;
    while !rest.is_empty() {
        let decoded = rest.strip_prefix("=?").and_then(|r| {
            let mut it = r.splitn(3, '?');
            let (_charset, enc, tail) = (it.next()?, it.next()?, it.next()?);
            let end = tail.find("?=")?;
            let text = &tail[..end];
            let bytes = match enc {
                "b" | "B" => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?
                }
                "q" | "Q" => decode_quoted_printable(&text.replace('_', " ")),
                _ => return None,
            };
            let consumed = 2 + r.len() - tail.len() + end + 2;
            Some((String::from_utf8_lossy(&bytes).into_owned(), consumed))
        });
        match decoded {
            Some((text, consumed)) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                pending_space.clear();
                out.push_str(&text);
                last_was_word = true;
                rest = &rest[consumed..];
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                if c.is_whitespace() {
                    pending_space.push(c);
                } else {
                    out.push_str(&pending_space);
                    pending_space.clear();
                    out.push(c);
                    last_was_word = false;
                }
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.push_str(&pending_space);
    out
}

/// A parameter of a header value such as `multipart/alternative; boundary="x"`.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// RFC 2045 quoted-printable: `=` at a line end is a soft break, `=XX` is a byte.
fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut lines = body.split('\n').peekable();
    while let Some(line) = lines.next() {
        // Trailing whitespace on an encoded line is padding added in transport.
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'='
                && let Some(byte) = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(byte);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        if !soft && lines.peek().is_some() {
            out.push(b'\n');
        }
    }
    out
}

fn decode_base64(body: &str) -> Vec<u8> {
    use base64::Engine;
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .expect("valid base64 body")
}
