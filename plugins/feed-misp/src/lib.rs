//! misp feed parser (in progress).

use articdbm_feed_sdk::{FeedParser, ParseError, ParseOutput, error, export_parser};

pub struct Parser;

impl FeedParser for Parser {
    fn parse(format: &str, _document: &[u8]) -> Result<ParseOutput, ParseError> {
        Err(error(format!("format {format:?} is not handled yet"), None))
    }
}

export_parser!(Parser);
