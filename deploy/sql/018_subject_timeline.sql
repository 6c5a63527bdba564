-- 018: a young person's messages in the order they are read (issue 19).
--
-- A subject-access answer (nwd sar, the console's /sar/view and release)
-- reads a subject's messages a page at a time, in (created_at, id) order,
-- each page after the last one's (created_at, id) (store_sql.c,
-- store_sql_messages).  With only messages_subject_idx (subject),
-- every page fetched and sorted all of the subject's messages: a subject
-- with 100,000 messages cost 100,000 rows sorted per page of 500.  With
-- (subject, created_at, id) each page is an index range scan that stops
-- at its limit.  The new index answers everything the old one did (its
-- first column is the subject), so the old one goes: one index less to
-- write on every publish.

CREATE INDEX messages_subject_created_idx
    ON nwd.messages (subject, created_at, id);
DROP INDEX nwd.messages_subject_idx;
