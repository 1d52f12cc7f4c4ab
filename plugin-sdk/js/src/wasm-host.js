// Installs the gateway's WIT imports as the SDK host. Only the component build imports this
// module (build.sh puts it first in the generated entry); Node cannot resolve the
// `articdbm:policy/...` specifiers, which componentize-js turns into component imports.

import { log } from 'articdbm:policy/log@0.1.2';
import { nowMs, monotonicNs } from 'articdbm:policy/clock@0.1.2';
import {
  get as kvGet,
  set as kvSet,
  incr as kvIncr,
  delete as kvDelete,
} from 'articdbm:policy/kv@0.1.2';
import { addressListed, nameListed, sqlPatternMatch } from 'articdbm:policy/indicators@0.1.2';
import { counterAdd } from 'articdbm:policy/metrics@0.1.2';
import { reuseVerdictFor } from 'articdbm:policy/reuse@0.1.2';
import { setHost } from './host.js';

setHost({
  log,
  nowMs,
  monotonicNs,
  kvGet,
  kvSet,
  kvIncr,
  kvDelete,
  addressListed,
  nameListed,
  sqlPatternMatch,
  counterAdd,
  reuseVerdictFor,
});
