-- Channel exception (+e) and invite-exception (+I) lists live beside the bans.
-- `list` is the mode letter; `mask_key` of +e/+I entries is "<letter> <casefolded
-- mask>" (BanList::qualify), so existing +b rows keep their keys and one mask may
-- be on several lists. Numbered 0004: 0003 is taken by another change.
-- Keep in step with ../postgres/0004_ban_lists.sql.

ALTER TABLE room_bans ADD COLUMN list TEXT NOT NULL DEFAULT 'b';
