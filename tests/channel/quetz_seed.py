"""Run with the Quetz venv's python inside a Quetz deployment: a channel, a publisher key, an outsider key.

    python quetz_seed.py CHANNEL PUBLISHER_KEY OUTSIDER_KEY

Uses Quetz's own data-access layer (what its REST API would do for a logged-in owner), because
creating keys through the API needs a browser login (GitHub/OAuth) that a test cannot do.
"""

import sys

from quetz import rest_models
from quetz.config import Config
from quetz.dao import Dao
from quetz.database import get_session

channel, publisher_key, outsider_key = sys.argv[1:4]
config = Config("config.toml")
db = get_session(config.sqlalchemy_database_url)
try:
    dao = Dao(db)
    publisher = dao.create_user_with_role("publisher", role="member")
    outsider = dao.create_user_with_role("outsider", role="member")
    dao.create_channel(rest_models.Channel(name=channel, private=False), publisher.id, "owner")
    for user, key in ((publisher, publisher_key), (outsider, outsider_key)):
        dao.create_api_key(user.id, rest_models.BaseApiKey(description="fastconda tests", roles=[]), key)
finally:
    db.close()
print("quetz seeded")
