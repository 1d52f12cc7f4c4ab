//! The crate ArticDBM threat-feed parser authors depend on.
//!
//! A feed parser is a component of the `feed-parser` world (see `wit/policy.wit`): the manager
//! hands it an untrusted document and gets indicators back. Implement [`FeedParser`], export it
//! with [`export_parser!`], and build with `cargo build --target wasm32-wasip2 --release`.
//! Natively the same code runs in ordinary `cargo test`, without wasm.
//!
//! The helpers here are the parts every format needs: address and CIDR normalisation
//! ([`net`]), domain, URL and e-mail checks ([`names`]), RFC 3339 times ([`time`]), error
//! construction ([`error`]) and counting what a document holds that a gateway cannot enforce
//! ([`Unsupported`](unsupported::Counter)).

#[allow(clippy::all, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "feed-parser",
        pub_export_macro: true,
        export_macro_name: "export_raw",
        default_bindings_module: "::articdbm_feed_sdk::bindings",
    });
}

pub mod names;
pub mod net;
pub mod time;
pub mod unsupported;

pub use bindings::articdbm::policy::types::IndicatorKind;
pub use bindings::exports::articdbm::policy::parser::{
    Indicator, ParseError, ParseOutput, Unsupported,
};

/// The longest indicator value a parser hands out. Longer values are refused with an error
/// naming where they are: no address, name or URL a gateway enforces is this long, and a huge
/// string is a hostile document.
pub const MAX_VALUE_LEN: usize = 8 * 1024;

/// The deepest element or object nesting a parser accepts.
pub const MAX_DEPTH: usize = 64;

/// A threat-feed parser.
pub trait FeedParser {
    /// Parses `document` of `format` ("stix", "openioc", "misp", "misp-feed-event"). A format
    /// the parser does not handle is an error naming it.
    fn parse(format: &str, document: &[u8]) -> Result<ParseOutput, ParseError>;
}

/// A parse error with `message` at `location` (a JSON pointer, an XML path or a byte offset).
pub fn error(message: impl Into<String>, location: Option<String>) -> ParseError {
    ParseError {
        message: message.into(),
        location,
    }
}

/// A new indicator with no confidence, validity window, labels or negation.
pub fn indicator(
    kind: IndicatorKind,
    value: impl Into<String>,
    source_id: impl Into<String>,
) -> Indicator {
    Indicator {
        kind,
        value: value.into(),
        confidence: None,
        valid_from: None,
        valid_until: None,
        revoked: false,
        source_id: source_id.into(),
        labels: Vec::new(),
        negated: false,
    }
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
}

/// Exports a [`FeedParser`] implementation as the component's `parser` interface. On native
/// targets it only checks the trait is implemented.
#[macro_export]
macro_rules! export_parser {
    ($ty:ty) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn __assert_parser<T: $crate::FeedParser>() {}
            let _ = __assert_parser::<$ty>;
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::bindings;

            struct __ArticdbmFeedExport;

            impl bindings::exports::articdbm::policy::parser::Guest for __ArticdbmFeedExport {
                fn parse(
                    format: String,
                    document: Vec<u8>,
                ) -> Result<$crate::ParseOutput, $crate::ParseError> {
                    <$ty as $crate::FeedParser>::parse(&format, &document)
                }
            }

    bindings::export_raw!(__ArticdbmFeedExport with_types_in bindings);
        };
    };
}
