-- The public tracking page /t/{token} as every anonymous visitor of one display sees it (issue 20), kept beside the
-- case's tracking snapshot so that an unchanged page is sent again rather than drawn again: the bench and a city's
-- receipts hit thousands of cases evenly, which no per-process cache holds. One row per case and display variant
-- (长辈版, its text size, the language: at most 20), overwritten when the page's weak ETag changes; `etag` is the tag the
-- body was drawn under (snapshot, notices' delivery, display, release) and is compared on every read, so a row left
-- behind by a newer event is never served. The body holds no visitor's CSRF token (a placeholder, filled per request)
-- and nothing of a signed-in viewer; `gzip` is the same page as deflate parts between the placeholders, sent to
-- browsers that take gzip without compressing it again (app/web/shared_pages.py), stored as it is (EXTERNAL: no
-- second compression). Removed with the case's personal data by `python -m app purge`.
CREATE TABLE tracking_pages (
    case_id bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    variant text NOT NULL CHECK (char_length(variant) <= 40),
    etag text NOT NULL,
    body bytea NOT NULL,
    gzip bytea NOT NULL,
    PRIMARY KEY (case_id, variant)
);
ALTER TABLE tracking_pages ALTER COLUMN gzip SET STORAGE EXTERNAL;
