import { setNonce } from 'get-nonce';

// The manager replaces `__CSP_NONCE__` in index.html with a fresh nonce per response; styles
// injected at run time (Mantine, CodeMirror) carry it so the CSP's style-src allows them.
export function styleNonce(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]');
  return meta?.content ?? '';
}

/** Hands the nonce to every library that injects <style> elements. */
export function installStyleNonce(): void {
  // react-remove-scroll (Mantine's Modal and Drawer) injects its style through get-nonce.
  setNonce(styleNonce());
}
