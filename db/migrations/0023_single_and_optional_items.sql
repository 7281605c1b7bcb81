-- Every online item on its own, and the items of a life event chosen as they apply (issue 16).
--
-- A single item applied for alone is a one-item bundle: a life_events row whose `single_item` names the item and
-- whose code is the item's own code (CZ-MZ-002). Cases, drafts, uploads and consents keep their one reference to
-- life_events, and every page that shows the life event's name shows the item's. Such a row is never listed among
-- the life events (首页, GET /api/v1/life-events); the seed makes one for every item offered 网上办理.
ALTER TABLE life_events ADD COLUMN single_item text UNIQUE REFERENCES service_items (code);
ALTER TABLE life_events DROP CONSTRAINT life_events_code_check;
ALTER TABLE life_events ADD CONSTRAINT life_events_code_check
    CHECK (code ~ '^[a-z][a-z0-9-]*$' OR (single_item IS NOT NULL AND code = single_item));

-- Whether an item of a life event is always filed (required) or filed only when the applicant ticks it.
ALTER TABLE life_event_items ADD COLUMN required boolean NOT NULL DEFAULT true;

-- When an item applies, in one line (shown beside its box), and the register fact that pre-ticks it:
-- {"about": "mother", "holds": "social_security_card", "reason": "…"} (a document in that person's library).
ALTER TABLE service_items ADD COLUMN applies_when text;
ALTER TABLE service_items ADD COLUMN pretick jsonb;

-- The items chosen for a case, kept with the draft (NULL: the draft predates the choice; the defaults apply).
ALTER TABLE drafts ADD COLUMN items text[];
