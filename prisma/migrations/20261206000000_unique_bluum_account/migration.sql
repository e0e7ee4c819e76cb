-- One Bluum account belongs to one user: without this, a users:write caller could register a second
-- user on someone else's Bluum account and link or read banks through it.

-- Users that already share an account stop the migration, each account named with its users, rather
-- than failing on the index's bare error or being changed silently: which user keeps an account is a
-- decision for a person (see the README, Production).
DO $$
DECLARE
  duplicated text;
  how_many integer;
BEGIN
  SELECT string_agg(format('%s (users %s)', bluum_account_id, user_ids), '; ' ORDER BY bluum_account_id), count(*)
    INTO duplicated, how_many
    FROM (
      SELECT bluum_account_id, string_agg(id, ', ' ORDER BY id) AS user_ids
        FROM "users"
       GROUP BY bluum_account_id
      HAVING count(*) > 1
       ORDER BY bluum_account_id
       LIMIT 100
    ) AS shared;
  IF how_many > 0 THEN
    RAISE EXCEPTION 'users.bluum_account_id must be unique, but these Bluum accounts are each held by more than one user: %', duplicated
      USING HINT = 'Leave each account with one user and give the others their own (PUT /v1/users/{id} while they have no bank linked), then apply the migration again. At most 100 accounts are named at a time.';
  END IF;
END
$$;

CREATE UNIQUE INDEX "users_bluum_account_id_key" ON "users"("bluum_account_id");
