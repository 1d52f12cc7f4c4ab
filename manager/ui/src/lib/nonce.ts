// The manager replaces `__CSP_NONCE__` in index.html with a fresh nonce per response; styles
// injected at run time (Mantine, CodeMirror) carry it so the CSP's style-src allows them.
export function styleNonce(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]');
  return meta?.content ?? '';
}
