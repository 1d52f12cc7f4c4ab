// trivial-js: denies DROP, allows everything else. No reuse, no host calls: the smallest
// policy, for cross-language benchmarks.
import { definePolicy, hasStatement, allow, deny } from 'articdbm-policy';

export default definePolicy({
  onQuery(_conn, query) {
    if (hasStatement(query.facts, 'drop')) {
      return deny('trivial.drop', 'DROP is not allowed');
    }
    return allow();
  },
});
