"""The vocabulary of ``flask seed``: words for titles and bodies, names, and the tag pool."""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


WORDS = _words("""
api app array async backend branch browser bug build cache cloud cluster code commit compiler
component config container context cursor data database debug deploy design developer docker
document endpoint engine error event feature field file flask framework function graph handler
index interface issue job json kernel key language latency layer library lint lock log loop
memory metric migration model module network node object package page parser patch pattern
performance pipeline plugin pointer pool process production project query queue record redis
release request response schema script server service session shell socket source stack state
storage stream string system table team test thread token tool trace type user value variable
version view worker about across after again always because before between careful clean clear
common complex correct different early easy every fast first good great hard important large
late little long modern new old only other quick real right simple slow small strange strong
useful wrong add avoid break change check choose create delete explain find fix help improve
keep learn make measure move need read remove replace return run scale ship show split start
stop store try understand update use wait write and but for from into like more most of often
once over still than that the then this through to under until when while with without
""")
FIRST_NAMES = _words("""
ada alan alice amara anna ben carlos chen chloe dana david elena emma farah felix grace hana
ivan jack james jin julia kai laura leo lina lucas maria mateo maya mei nadia noah olga omar
paul priya rahul rosa sam sara sofia tariq tom uma victor wei yara yusuf zoe
""")
LAST_NAMES = _words("""
adams ahmed baker chen costa davis diaz evans fischer garcia gupta hansen ito jensen kim kowalski
lee lopez martin meyer moreau nakamura nguyen novak okafor olsen patel perez rossi sato schmidt
silva smith tanaka taylor walker wang weber wilson yilmaz young zhang
""")
TAG_POOL = _words("""
python flask sqlalchemy postgresql redis docker kubernetes devops testing performance security
javascript typescript react vue css html rust go java kotlin linux git api design architecture
databases caching observability career productivity tutorial opinion beginners news open-source
machine-learning data cloud aws networking
""")
