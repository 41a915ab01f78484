-- The subject's language (issue 23 item 5): the language of the form the request was
-- sent from, or the intake API's `language`, changed when the subject switches language
-- on the status page. Every later email to the subject is written in it. Requests from
-- before it was recorded have none and are written to in English.
ALTER TABLE requests ADD COLUMN language TEXT;
