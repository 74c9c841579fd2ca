use std::io::Read;
use std::io::Result as IoResult;

/// A `Reader` that reads exactly the number of bytes from a sub-reader.
///
/// If the limit is reached, it returns EOF. If the limit is not reached
/// when the destructor is called, the remaining bytes will be read and
/// thrown away.
pub struct EqualReader<R>
where
    R: Read,
{
    reader: R,
    size: usize,
    /// llm-gateway patch: a read failed (the client stalled past the socket timeout, or left):
    /// draining would only wait out the timeout again.
    failed: bool,
}

impl<R> EqualReader<R>
where
    R: Read,
{
    // llm-gateway patch: no channel signalling the last read (nobody listened, and each cost
    // an allocation per request).
    pub fn new(reader: R, size: usize) -> EqualReader<R> {
        EqualReader {
            reader,
            size,
            failed: false,
        }
    }
}

impl<R> Read for EqualReader<R>
where
    R: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.size == 0 {
            return Ok(0);
        }

        let buf = if buf.len() < self.size {
            buf
        } else {
            &mut buf[..self.size]
        };

        match self.reader.read(buf) {
            Ok(len) => {
                self.size -= len;
                Ok(len)
            }
            err @ Err(_) => {
                self.failed = true;
                err
            }
        }
    }
}

impl<R> Drop for EqualReader<R>
where
    R: Read,
{
    fn drop(&mut self) {
        // llm-gateway patch: drain a small leftover only, through a fixed buffer. The original
        // allocated the whole announced size at once, so one `Content-Length` larger than memory
        // aborted the process; and draining a large body the client withholds blocked the
        // thread that answered (a worker) until the socket timed out. A body left undrained
        // makes the connection unusable, which closes it: the answer was already sent.
        const MAX_DRAIN: usize = 64 * 1024;
        if self.size > MAX_DRAIN || self.failed {
            return;
        }
        let mut remaining_to_read = self.size;

        let mut buf = vec![0; remaining_to_read.min(64 * 1024)];

        while remaining_to_read > 0 {
            let want = remaining_to_read.min(buf.len());
            let buf = &mut buf[..want];


            match self.reader.read(buf) {
                Err(_) | Ok(0) => break,
                Ok(other) => {
                    remaining_to_read -= other;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EqualReader;
    use std::io::Read;

    #[test]
    fn test_limit() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let mut equal_reader = EqualReader::new(org_reader.by_ref(), 5);

            let mut string = String::new();
            equal_reader.read_to_string(&mut string).unwrap();
            assert_eq!(string, "hello");
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }

    #[test]
    fn test_not_enough() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let mut equal_reader = EqualReader::new(org_reader.by_ref(), 5);

            let mut vec = [0];
            equal_reader.read_exact(&mut vec).unwrap();
            assert_eq!(vec[0], b'h');
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }
}
