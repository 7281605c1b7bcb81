-- 出件: how each result reached the resident (window pickup, post with its tracking number, electronic).
ALTER TABLE tasks
    ADD COLUMN delivery_method text CHECK (delivery_method IN ('window', 'post', 'electronic')),
    ADD COLUMN delivery_ref text;
