-- The subject's residence as given at intake (ISO 3166-1 alpha-2 such as `BR`, or ISO 3166-2
-- such as `US-VA`); it chose the request's regime through [deadlines.jurisdictions].
ALTER TABLE requests ADD COLUMN residence TEXT;
