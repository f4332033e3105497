-- What operators did in /admin, one row per action, never changed or
-- deleted: who (actor_id), what (action: edit, hide, show, merge, suspend,
-- reinstate), to which event or user (subject, subject_id), the details
-- (the changes, the merge target, the reason for a suspension) and when.
CREATE TABLE moderation_actions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id   BIGINT NOT NULL REFERENCES users (id),
    action     TEXT   NOT NULL,
    subject    TEXT   NOT NULL CHECK (subject IN ('event', 'user')),
    subject_id BIGINT NOT NULL,
    detail     TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX moderation_actions_subject_idx ON moderation_actions (subject, subject_id);
