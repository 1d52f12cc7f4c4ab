// with-http-js: trivial-js built with the `http` feature on (componentize.json), so the component
// imports wasi:http, which the gateway does not link: used to test the refusal.
import { definePolicy, hasStatement, allow, deny } from 'articdbm-policy';

export default definePolicy({
  onQuery(_conn, query) {
    if (hasStatement(query.facts, 'drop')) {
      return deny('trivial.drop', 'DROP is not allowed');
    }
    return allow();
  },
});
