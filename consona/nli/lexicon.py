"""Word lists of the structured check (:mod:`consona.nli.triples`): light world knowledge.

Hand-written for persona chat, not mined from any evaluation set: jobs, places, colours,
hypernyms of possessions, meat and dairy, gendered nouns, number words.

>>> hypernyms("german shepherd")
['german shepherd', 'dog', 'pet', 'animal']
>>> place("ohio"), place("canada")
(('state', 'ohio', 'united states'), ('country', 'canada', 'canada'))
"""

from __future__ import annotations

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100,
    "one hundred": 100, "single": 1, "twin": 2, "twins": 2,
}  # fmt: skip

# thing -> its parent class; hypernyms() follows the chain.
_PARENT = {
    # dogs
    "dog": "pet", "puppy": "dog", "pup": "dog", "german shepherd": "dog", "shepherd": "dog",
    "golden retriever": "dog", "retriever": "dog", "labrador": "dog", "lab": "dog",
    "poodle": "dog", "pug": "dog", "beagle": "dog", "bulldog": "dog", "husky": "dog",
    "chihuahua": "dog", "terrier": "dog", "pit bull": "dog", "pitbull": "dog",
    "dachshund": "dog", "corgi": "dog", "rottweiler": "dog", "collie": "dog",
    "border collie": "dog", "shih tzu": "dog", "great dane": "dog", "doberman": "dog",
    "greyhound": "dog", "boxer dog": "dog", "mutt": "dog", "yorkie": "dog",
    "maltese": "dog", "schnauzer": "dog", "sheepdog": "dog", "mastiff": "dog",
    # cats and other pets
    "cat": "pet", "kitten": "cat", "kitty": "cat", "tabby": "cat", "siamese cat": "cat",
    "persian cat": "cat", "fish": "pet", "goldfish": "fish", "betta": "fish",
    "bird": "pet", "parrot": "bird", "parakeet": "bird", "cockatiel": "bird",
    "budgie": "bird", "canary": "bird", "hamster": "pet", "gerbil": "pet",
    "guinea pig": "pet", "rabbit": "pet", "bunny": "rabbit", "ferret": "pet",
    "snake": "pet", "lizard": "pet", "iguana": "lizard", "turtle": "pet",
    "tortoise": "pet", "rat": "pet", "mouse": "pet", "hedgehog": "pet", "pet": "animal",
    "horse": "animal", "pony": "horse", "stallion": "horse", "mare": "horse",
    "cow": "animal", "goat": "animal", "chicken": "animal", "pig": "animal",
    # family
    "son": "child", "daughter": "child", "kid": "child", "baby": "child",
    "boy": "child", "girl": "child", "twin": "child", "toddler": "child",
    "brother": "sibling", "sister": "sibling", "twin brother": "brother",
    "twin sister": "sister", "older brother": "brother", "younger brother": "brother",
    "older sister": "sister", "younger sister": "sister", "big brother": "brother",
    "little brother": "brother", "big sister": "sister", "little sister": "sister",
    "stepbrother": "sibling", "stepsister": "sibling", "half brother": "sibling",
    "half sister": "sibling", "grandchild": "family", "grandson": "grandchild",
    "granddaughter": "grandchild", "child": "family", "sibling": "family",
    "wife": "spouse", "husband": "spouse", "spouse": "family",
    # vehicles
    "car": "vehicle", "truck": "vehicle", "pickup": "truck", "pickup truck": "truck",
    "motorcycle": "vehicle", "motorbike": "motorcycle", "harley": "motorcycle",
    "van": "vehicle", "minivan": "van", "suv": "car", "jeep": "car", "mustang": "car",
    "corvette": "car", "camaro": "car", "convertible": "car", "sports car": "car",
    "tesla": "car", "prius": "car", "boat": "vehicle", "rv": "vehicle",
    "bike": "bicycle", "bicycle": "vehicle",
    # instruments
    "guitar": "instrument", "piano": "instrument", "violin": "instrument",
    "drum": "instrument", "drums": "instrument", "cello": "instrument",
    "flute": "instrument", "saxophone": "instrument", "trumpet": "instrument",
    "ukulele": "instrument", "banjo": "instrument", "harp": "instrument",
    "clarinet": "instrument", "bass": "instrument", "keyboard": "instrument",
}  # fmt: skip

# plural -> singular for the nouns above whose plural is irregular or ambiguous
_PLURAL = {
    "children": "child", "kids": "kid", "babies": "baby", "puppies": "puppy",
    "kitties": "kitty", "bunnies": "bunny", "huskies": "husky", "mice": "mouse",
    "ponies": "pony", "wives": "wife", "grandchildren": "grandchild", "fish": "fish",
    "goldfish": "goldfish", "sheep": "sheep", "geese": "goose", "men": "man",
    "women": "woman", "dogs": "dog", "cats": "cat", "boxes": "box", "siblings": "sibling",
    "brothers": "brother", "sisters": "sister", "sons": "son", "daughters": "daughter",
    "pets": "pet", "animals": "animal", "cars": "car", "trucks": "truck", "birds": "bird",
    "horses": "horse", "guitars": "guitar", "pianos": "piano", "drums": "drum",
    "twins": "twin", "boys": "boy", "girls": "girl", "parrots": "parrot",
    "hamsters": "hamster", "rabbits": "rabbit", "snakes": "snake", "lizards": "lizard",
    "turtles": "turtle", "motorcycles": "motorcycle", "bikes": "bike", "vans": "van",
    "goats": "goat", "cows": "cow", "chickens": "chicken", "pigs": "pig",
    "mustangs": "mustang", "grandsons": "grandson", "granddaughters": "granddaughter",
    "grandkids": "grandchild", "grandkid": "grandchild",
}  # fmt: skip


def singular(noun: str) -> str:
    """The singular of a (possibly multi-word) noun phrase's last word."""
    words = noun.split()
    if not words:
        return noun
    last = words[-1]
    if last in _PLURAL:
        last = _PLURAL[last]
    elif len(last) > 3 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def hypernyms(noun: str) -> list[str]:
    """``noun`` (singular) and its known classes, most specific first."""
    noun = singular(noun.strip())
    out = [noun]
    if noun not in _PARENT:
        # the longest known noun inside: "three little dogs" -> "dog",
        # "golden retriever named biscuit" -> "golden retriever"
        words = noun.split()
        found = None
        for size in range(min(3, len(words)), 0, -1):
            for k in range(len(words) - size + 1):
                cand = singular(" ".join(words[k : k + size]))
                if cand in _PARENT:
                    found = cand
                    break
            if found:
                break
        if found:
            out.append(found)
            noun = found
    seen = set(out)
    while noun in _PARENT and _PARENT[noun] not in seen:
        noun = _PARENT[noun]
        out.append(noun)
        seen.add(noun)
    return out


def known_noun(noun: str) -> bool:
    return len(hypernyms(noun)) > 1


FEMALE = frozenset(
    {
        "woman", "girl", "lady", "female", "mom", "mother", "wife", "grandma",
        "grandmother", "housewife", "gal", "mommy", "mum", "momma", "actress",
        "waitress", "girlfriend", "daughter", "sister", "widow", "granny", "chick",
        "stay at home mom", "single mom", "single mother", "mama",
    }
)  # fmt: skip
MALE = frozenset(
    {
        "man", "guy", "boy", "male", "dad", "father", "husband", "grandpa", "grandfather",
        "gentleman", "dude", "daddy", "son", "brother", "widower", "boyfriend", "fella",
        "stay at home dad", "single dad", "single father", "papa",
    }
)  # fmt: skip

# Jobs: a person is usually one of these at a time; a clash is a contradiction. Groups of
# compatible names share an entry (doctor ~ physician ~ surgeon).
JOB_GROUPS: list[tuple[str, ...]] = [
    ("doctor", "physician", "surgeon", "pediatrician", "dermatologist", "cardiologist", "psychiatrist", "radiologist", "anesthesiologist", "oncologist", "neurosurgeon", "md", "gp", "resident"),
    ("nurse", "rn", "nurse practitioner", "nurses aide", "nurse aide", "cna", "nursing assistant", "midwife"),
    ("dentist", "orthodontist", "dental hygienist", "hygienist"),
    ("veterinarian", "vet", "vet tech"),
    ("pharmacist",), ("paramedic", "emt"), ("therapist", "psychologist", "counselor", "counsellor", "social worker"),
    ("teacher", "school teacher", "professor", "lecturer", "tutor", "educator", "instructor", "substitute teacher", "kindergarten teacher", "elementary school teacher", "high school teacher", "music teacher", "art teacher", "math teacher", "english teacher", "principal"),
    ("engineer", "mechanical engineer", "software engineer", "civil engineer", "electrical engineer", "chemical engineer"),
    ("programmer", "software developer", "developer", "coder", "web developer", "software engineer", "computer programmer"),
    ("lawyer", "attorney", "paralegal", "judge"), ("accountant", "cpa", "bookkeeper", "auditor"),
    ("police officer", "cop", "policeman", "policewoman", "detective", "sheriff", "deputy"),
    ("firefighter", "fireman"), ("soldier", "marine", "sailor", "army", "veteran", "pilot"),
    ("chef", "cook", "baker", "line cook", "pastry chef", "sous chef"),
    ("waiter", "waitress", "server", "bartender", "barista", "bar tender"),
    ("cashier", "clerk", "store clerk", "sales clerk", "salesman", "saleswoman", "salesperson", "sales associate", "retail worker", "shop assistant"),
    ("electrician",), ("plumber",), ("carpenter", "woodworker", "builder", "construction worker", "contractor", "roofer"),
    ("mechanic", "auto mechanic"), ("farmer", "rancher", "cowboy"), ("fisherman",),
    ("truck driver", "trucker", "driver", "bus driver", "taxi driver", "cab driver", "uber driver", "delivery driver"),
    ("writer", "author", "novelist", "journalist", "reporter", "editor", "blogger", "poet"),
    ("artist", "painter", "illustrator", "sculptor", "graphic designer", "designer"),
    ("musician", "singer", "guitarist", "drummer", "pianist", "rapper", "dj", "composer", "violinist"),
    ("actor", "actress", "comedian", "stunt double", "stuntman"), ("dancer", "ballerina"),
    ("photographer",), ("model", "fashion model", "supermodel"),
    ("scientist", "chemist", "biologist", "physicist", "researcher", "astronaut"),
    ("librarian",), ("architect",), ("banker", "financial advisor", "investment banker", "stock broker", "stockbroker", "financial analyst"),
    ("hairdresser", "hair stylist", "stylist", "barber", "beautician", "cosmetologist"),
    ("janitor", "custodian", "cleaner", "housekeeper", "maid"),
    ("secretary", "receptionist", "assistant", "office assistant", "administrative assistant"),
    ("manager", "store manager", "ceo", "boss", "supervisor", "business owner", "entrepreneur", "executive"),
    ("pastor", "priest", "minister", "preacher", "rabbi", "nun", "monk"),
    ("athlete", "football player", "basketball player", "baseball player", "soccer player", "wrestler", "professional wrestler", "boxer", "coach", "personal trainer", "trainer", "fitness instructor", "life coach", "golfer", "tennis player", "swimmer", "runner", "jockey"),
    ("dog walker", "dog trainer", "groomer", "dog groomer", "pet sitter"),
    ("tour guide",), ("life guard", "lifeguard"), ("flight attendant", "stewardess"),
    ("security guard", "guard", "bouncer"), ("mailman", "postman", "mail carrier"),
    ("insurance agent", "insurance salesman"), ("real estate agent", "realtor"),
    ("politician", "senator", "mayor", "governor"), ("scientist",), ("pharmacist",),
    ("babysitter", "nanny", "au pair", "daycare worker"), ("butcher",), ("tailor", "seamstress"),
    ("welder",), ("miner", "coal miner"), ("translator", "interpreter"),
    ("police dispatcher", "dispatcher"), ("youtuber", "streamer", "influencer"),
    ("game developer", "video game designer"), ("nurse's aide",), ("physical therapist",),
    ("zookeeper",), ("park ranger", "ranger"), ("lumberjack",), ("florist",), ("jeweler",),
    ("optometrist",), ("surveyor",), ("dentist",), ("pilot",), ("astronaut",), ("clown",),
]  # fmt: skip
JOB_GROUP: dict[str, int] = {}
for _i, _names in enumerate(JOB_GROUPS):
    for _n in _names:
        JOB_GROUP.setdefault(_n, _i)
JOB_GROUP["nurse's aide"] = JOB_GROUP["nurses aide"]

# "i work in insurance", "my career is in the insurance industry" → a job of that field
FIELD_JOBS = {
    "insurance": "insurance agent", "real estate": "real estate agent", "banking": "banker",
    "finance": "banker", "accounting": "accountant", "nursing": "nurse", "education": "teacher",
    "teaching": "teacher", "construction": "construction worker", "law": "lawyer",
    "law enforcement": "police officer", "retail": "cashier", "sales": "salesperson",
    "it": "programmer", "tech": "programmer", "software": "programmer", "medicine": "doctor",
    "the medical field": "doctor", "marketing": "manager", "journalism": "journalist",
    "the army": "soldier", "the military": "soldier", "the navy": "soldier",
    "the air force": "soldier", "the marines": "soldier", "hospitality": "waiter",
    "the restaurant business": "waiter", "fashion": "designer", "music": "musician",
    "the music industry": "musician", "film": "actor", "the movies": "actor",
}  # fmt: skip
VERB_JOBS = {
    "walk dogs": "dog walker", "teach": "teacher", "drive a truck": "truck driver",
    "drive trucks": "truck driver", "cut hair": "hairdresser", "do hair": "hairdresser",
    "fix cars": "mechanic", "sell insurance": "insurance agent", "sell cars": "salesman",
    "deliver babies": "nurse", "write": "writer", "sing": "singer", "play music": "musician",
    "cook": "chef", "program": "programmer", "code": "programmer", "build houses": "carpenter",
    "deliver mail": "mailman", "farm": "farmer", "preach": "pastor", "dance": "dancer",
}  # fmt: skip

# Not jobs, though they follow "i am a": identity, family, diet, hobby words.
NOT_JOBS = frozenset({"fan", "lover", "mom", "dad", "parent", "student", "vegan", "vegetarian"})

US_STATES = frozenset(
    ["alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada", "ohio", "oklahoma", "oregon", "pennsylvania", "tennessee", "texas", "utah", "vermont", "virginia", "washington", "wisconsin", "wyoming"]
) | {"new hampshire", "new jersey", "new mexico", "new york state", "north carolina",
     "north dakota", "rhode island", "south carolina", "south dakota", "west virginia"}  # fmt: skip
COUNTRIES = {
    "united states": "united states", "usa": "united states", "us": "united states",
    "america": "united states", "the us": "united states", "the states": "united states",
    "canada": "canada", "mexico": "mexico", "england": "united kingdom", "uk": "united kingdom",
    "united kingdom": "united kingdom", "britain": "united kingdom", "scotland": "united kingdom",
    "ireland": "ireland", "france": "france", "germany": "germany", "italy": "italy",
    "spain": "spain", "portugal": "portugal", "netherlands": "netherlands",
    "holland": "netherlands", "belgium": "belgium", "sweden": "sweden", "norway": "norway",
    "denmark": "denmark", "finland": "finland", "iceland": "iceland", "poland": "poland",
    "russia": "russia", "ukraine": "ukraine", "greece": "greece", "turkey": "turkey",
    "switzerland": "switzerland", "austria": "austria", "china": "china", "japan": "japan",
    "korea": "korea", "south korea": "korea", "india": "india", "pakistan": "pakistan",
    "australia": "australia", "new zealand": "new zealand", "brazil": "brazil",
    "argentina": "argentina", "chile": "chile", "peru": "peru", "colombia": "colombia",
    "cuba": "cuba", "jamaica": "jamaica", "egypt": "egypt", "nigeria": "nigeria",
    "kenya": "kenya", "south africa": "south africa", "israel": "israel", "iran": "iran",
    "iraq": "iraq", "thailand": "thailand", "vietnam": "vietnam", "philippines": "philippines",
    "indonesia": "indonesia", "singapore": "singapore", "morocco": "morocco",
}  # fmt: skip
CITIES = {
    "new york": "new york state", "nyc": "new york state", "new york city": "new york state",
    "brooklyn": "new york state", "manhattan": "new york state", "los angeles": "california",
    "la": "california", "san francisco": "california", "san diego": "california",
    "hollywood": "california", "chicago": "illinois", "houston": "texas", "dallas": "texas",
    "austin": "texas", "san antonio": "texas", "miami": "florida", "orlando": "florida",
    "tampa": "florida", "seattle": "washington", "portland": "oregon", "denver": "colorado",
    "boston": "massachusetts", "atlanta": "georgia", "phoenix": "arizona",
    "las vegas": "nevada", "vegas": "nevada", "detroit": "michigan", "nashville": "tennessee",
    "memphis": "tennessee", "new orleans": "louisiana", "philadelphia": "pennsylvania",
    "pittsburgh": "pennsylvania", "cleveland": "ohio", "columbus": "ohio",
    "cincinnati": "ohio", "minneapolis": "minnesota", "salt lake city": "utah",
    "baltimore": "maryland", "st louis": "missouri", "kansas city": "missouri",
    "anchorage": "alaska", "honolulu": "hawaii", "london": "united kingdom",
    "paris": "france", "berlin": "germany", "rome": "italy", "madrid": "spain",
    "tokyo": "japan", "toronto": "canada", "vancouver": "canada", "montreal": "canada",
    "sydney": "australia", "melbourne": "australia", "dublin": "ireland",
    "mexico city": "mexico", "moscow": "russia", "beijing": "china", "mumbai": "india",
    "amsterdam": "netherlands",
}  # fmt: skip


def place(name: str) -> tuple[str, str, str] | None:
    """(level, canonical name, country) of a known place, else None."""
    name = " ".join(name.lower().replace(".", " ").split())
    if name.startswith("the "):
        name = name[4:]
    if name in ("new york",):
        return ("city", "new york", "united states")
    if name in US_STATES:
        return ("state", name, "united states")
    if name in COUNTRIES:
        canon = COUNTRIES[name]
        return ("country", canon, canon)
    if name in CITIES:
        region = CITIES[name]
        country = "united states" if region in US_STATES else COUNTRIES.get(region, region)
        return ("city", name, country)
    return None


def region_of(name: str) -> str | None:
    """The state (US cities) or country of a city, for containment checks."""
    region = CITIES.get(name)
    if region is None:
        return None
    return region if region in US_STATES else COUNTRIES.get(region, region)


HAIR_COLOURS = {
    "blonde": "blonde", "blond": "blonde", "brown": "brown", "brunette": "brown",
    "black": "black", "red": "red", "ginger": "red", "auburn": "red", "redhead": "red",
    "gray": "gray", "grey": "gray", "white": "gray", "silver": "gray", "purple": "purple",
    "pink": "pink", "blue": "blue", "green": "green", "rainbow": "rainbow",
    "platinum": "blonde", "dark": "dark", "light": "light", "bald": "bald",
}  # fmt: skip
# colours that can describe the same hair ("dark" vs "brown" / "black")
COLOURS = frozenset(
    ["red", "orange", "yellow", "green", "blue", "purple", "pink", "black", "white", "grey",
     "gray", "brown", "silver", "gold", "teal", "navy", "violet", "turquoise", "beige"]
)  # fmt: skip
HAIR_COMPATIBLE = {("dark", "brown"), ("dark", "black"), ("light", "blonde"), ("red", "brown")}
EYE_COLOURS = {
    "blue": "blue", "green": "green", "brown": "brown", "hazel": "hazel", "gray": "gray",
    "grey": "gray", "black": "brown", "dark": "brown",
}  # fmt: skip

MEAT = frozenset(
    ["meat", "steak", "steaks", "beef", "pork", "bacon", "ham", "sausage", "sausages", "burger", "burgers", "hamburger", "hamburgers", "hotdog", "hotdogs", "chicken", "turkey", "lamb", "veal", "ribs", "brisket", "jerky", "pepperoni", "salami", "meatballs", "meatloaf", "bbq", "barbecue", "wings", "carnivore", "fish", "salmon", "tuna", "shrimp", "seafood", "lobster", "crab"]
)  # fmt: skip
DAIRY_EGG = frozenset(["cheese", "milk", "butter", "eggs", "egg", "yogurt", "icecream", "cream"])
