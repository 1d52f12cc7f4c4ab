-- oltp_point_select with statement text that differs in every request, as ORMs that
-- interpolate values and sqlcommenter make it: the id also in a string literal and in a
-- comment. Nothing is prepared (the text varies), so every request is a COM_QUERY that the
-- gateway judges as new text; a cache keyed by statement text cannot make it free.
require("oltp_common")

function prepare_statements()
end

function event()
   local id = sysbench.rand.default(1, sysbench.opt.table_size)
   con:query(string.format(
      "SELECT c FROM sbtest1 WHERE id = %d AND pad <> 'request-%d' /* request %d */",
      id, id, id))
end
