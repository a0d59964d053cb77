"""Place names and personal names the demo region draws from.

Communes carry their postcode and the last digits of their INSEE code, because a NIR holds the
birth department and commune: a synthetic person born in Annecy gets 74 + 010 in their NIR, as a
real one would. Mayotte's INSEE codes are 976 + two digits, which is why a NIR of someone born there
has a three-digit department and a two-digit commune.
"""

from __future__ import annotations

from typing import NamedTuple


class Commune(NamedTuple):
    """Attributes:
    name: usual name.
    postcode: postal code, for addresses.
    insee: the commune part of the INSEE code (3 digits, 2 for overseas departments).
    """

    name: str
    postcode: str
    insee: str


REGION_NAME = "Rhône-Alpes"

# The eight departments of the former Rhône-Alpes region, with a population weight (hundreds of
# thousands, rounded) so that the Rhône and the Isère hold most contributors, as they do.
REGION_DEPARTMENTS: dict[str, tuple[str, int, tuple[Commune, ...]]] = {
    "01": (
        "Ain",
        6,
        (
            Commune("Bourg-en-Bresse", "01000", "053"),
            Commune("Oyonnax", "01100", "283"),
            Commune("Ambérieu-en-Bugey", "01500", "004"),
            Commune("Gex", "01170", "173"),
        ),
    ),
    "07": (
        "Ardèche",
        3,
        (
            Commune("Privas", "07000", "186"),
            Commune("Annonay", "07100", "010"),
            Commune("Aubenas", "07200", "019"),
            Commune("Tournon-sur-Rhône", "07300", "324"),
        ),
    ),
    "26": (
        "Drôme",
        5,
        (
            Commune("Valence", "26000", "362"),
            Commune("Montélimar", "26200", "198"),
            Commune("Romans-sur-Isère", "26100", "281"),
            Commune("Crest", "26400", "108"),
        ),
    ),
    "38": (
        "Isère",
        12,
        (
            Commune("Grenoble", "38000", "185"),
            Commune("Vienne", "38200", "544"),
            Commune("Voiron", "38500", "563"),
            Commune("Bourgoin-Jallieu", "38300", "053"),
            Commune("Échirolles", "38130", "151"),
        ),
    ),
    "42": (
        "Loire",
        7,
        (
            Commune("Saint-Étienne", "42000", "218"),
            Commune("Roanne", "42300", "187"),
            Commune("Montbrison", "42600", "147"),
            Commune("Firminy", "42700", "095"),
        ),
    ),
    "69": (
        "Rhône",
        18,
        (
            Commune("Lyon", "69003", "123"),
            Commune("Villeurbanne", "69100", "266"),
            Commune("Vénissieux", "69200", "259"),
            Commune("Villefranche-sur-Saône", "69400", "264"),
            Commune("Caluire-et-Cuire", "69300", "034"),
        ),
    ),
    "73": (
        "Savoie",
        4,
        (
            Commune("Chambéry", "73000", "065"),
            Commune("Aix-les-Bains", "73100", "008"),
            Commune("Albertville", "73200", "011"),
            Commune("Saint-Jean-de-Maurienne", "73300", "248"),
        ),
    ),
    "74": (
        "Haute-Savoie",
        8,
        (
            Commune("Annecy", "74000", "010"),
            Commune("Thonon-les-Bains", "74200", "281"),
            Commune("Annemasse", "74100", "012"),
            Commune("Cluses", "74300", "081"),
            Commune("Sallanches", "74700", "256"),
        ),
    ),
}

MAYOTTE_COMMUNES: tuple[Commune, ...] = (
    Commune("Mamoudzou", "97600", "11"),
    Commune("Koungou", "97690", "10"),
    Commune("Dzaoudzi", "97615", "08"),
    Commune("Pamandzi", "97615", "15"),
    Commune("Sada", "97640", "16"),
    Commune("Chirongui", "97620", "06"),
    Commune("Bandrélé", "97660", "03"),
    Commune("Dembéni", "97660", "07"),
    Commune("Tsingoni", "97680", "17"),
    Commune("Chiconi", "97670", "05"),
    Commune("Ouangani", "97670", "14"),
    Commune("Bandraboua", "97650", "02"),
    Commune("Acoua", "97630", "01"),
)

# Other mainland departments people of the region were born in (commune drawn at random).
OTHER_BIRTH_DEPARTMENTS = ("75", "13", "59", "33", "63", "71", "21", "25", "31", "67")

# INSEE country codes (department 99) of common birth countries; 397 is the Comoros.
MAINLAND_BIRTH_COUNTRIES = ("352", "350", "351", "139", "127", "208")
COMOROS = "397"

STREETS = (
    "rue de la République",
    "avenue Jean-Jaurès",
    "rue Victor-Hugo",
    "place du Marché",
    "rue des Artisans",
    "chemin des Vignes",
    "boulevard Gambetta",
    "rue Pasteur",
    "route de Lyon",
    "rue du Lac",
    "impasse des Tilleuls",
    "rue de la Gare",
)

MAYOTTE_STREETS = (
    "rue du Commerce",
    "route nationale 1",
    "rue de l'Hôpital",
    "boulevard des Crabes",
    "rue du Marché",
    "chemin du Lagon",
    "rue Mariazé",
    "place de France",
)

FIRST_NAMES = {
    "1": (
        "Jean",
        "Pierre",
        "Michel",
        "Philippe",
        "Alain",
        "Nicolas",
        "Laurent",
        "Thierry",
        "Christophe",
        "Julien",
        "Mathieu",
        "Sébastien",
        "Karim",
        "Antoine",
        "Bernard",
        "Hugo",
        "Lucas",
        "Yannick",
        "Mehdi",
        "Joël",
    ),
    "2": (
        "Marie",
        "Nathalie",
        "Isabelle",
        "Sylvie",
        "Catherine",
        "Christine",
        "Sandrine",
        "Céline",
        "Julie",
        "Sophie",
        "Camille",
        "Aurélie",
        "Nadia",
        "Emma",
        "Léa",
        "Chantal",
        "Monique",
        "Élodie",
        "Fatima",
        "Hélène",
    ),
}

LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Durand",
    "Moreau",
    "Laurent",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Blanc",
    "Guerin",
    "Muller",
    "Faure",
    "Chevalier",
    "Perrin",
    "Morel",
    "Gauthier",
    "Roux",
    "Vincent",
    "Brun",
    "Mercier",
    "Rey",
    "Berthet",
    "Collomb",
    "Favre",
    "Jacquet",
    "Ferrari",
    "Benali",
    "Da Silva",
)

MAYOTTE_FIRST_NAMES = {
    "1": (
        "Ahamada",
        "Ali",
        "Anli",
        "Boina",
        "Chamsidine",
        "Said",
        "Abdou",
        "Moussa",
        "Mohamed",
        "Houssamoudine",
        "Anfane",
        "Oumouri",
        "Ibrahim",
        "Daoud",
    ),
    "2": (
        "Faïza",
        "Hadidja",
        "Mariama",
        "Zaïnaba",
        "Fatima",
        "Nasra",
        "Riziki",
        "Soifiat",
        "Echati",
        "Anziza",
        "Mouniati",
        "Toybia",
        "Sitti",
        "Roukia",
    ),
}

MAYOTTE_LAST_NAMES = (
    "Madi",
    "Said",
    "Ahmed",
    "Attoumani",
    "Combo",
    "Abdallah",
    "Soilihi",
    "Mohamed",
    "Ali",
    "Ibrahim",
    "Houmadi",
    "Ousseni",
    "Youssouf",
    "Boinali",
    "Chanfi",
    "Assani",
    "Mdallah",
    "Bacar",
)

TRADES = (
    "Boulangerie",
    "Transports",
    "Bâtiment",
    "Garage",
    "Hôtel",
    "Restaurant",
    "Pharmacie",
    "Électricité",
    "Menuiserie",
    "Import-export",
    "Sécurité",
    "Nettoyage",
    "Supermarché",
    "Plomberie",
    "Imprimerie",
    "Agence de voyages",
)

MAYOTTE_TRADES = (*TRADES, "Pêcherie", "Distillerie d'ylang-ylang", "Location de barges")

# Activity code (NAF rév. 2, INSEE) of each trade and public-sector company: the employment
# statistics are by department × activity code.
NAF_CODES = {
    "Boulangerie": "1071C",
    "Transports": "4941A",
    "Bâtiment": "4120A",
    "Garage": "4520A",
    "Hôtel": "5510Z",
    "Restaurant": "5610A",
    "Pharmacie": "4773Z",
    "Électricité": "4321A",
    "Menuiserie": "4332A",
    "Import-export": "4690Z",
    "Sécurité": "8010Z",
    "Nettoyage": "8121Z",
    "Supermarché": "4711D",
    "Plomberie": "4322A",
    "Imprimerie": "1812Z",
    "Agence de voyages": "7911Z",
    "Pêcherie": "0311Z",
    "Distillerie d'ylang-ylang": "2053Z",
    "Location de barges": "5010Z",
    "Électricité de Mayotte": "3511Z",
    "Société immobilière de Mayotte": "6820A",
    "Régie du port de Longoni": "5222Z",
    "Office du tourisme de Mayotte": "7990Z",
    "Société d'aménagement de Mayotte": "4299Z",
    "Régie des eaux de Mayotte": "3600Z",
}


def naf_of(company: str) -> str:
    """The code of the longest trade the company name starts with ("Électricité de Mayotte"
    before "Électricité")."""
    trade = max((t for t in NAF_CODES if company.startswith(t)), key=len)
    return NAF_CODES[trade]


LEGAL_FORMS = ("SARL", "SAS", "EURL", "SA", "SASU")

# Public-sector companies that may opt into unemployment insurance (amendment art. 2.1).
MAYOTTE_PUBLIC_SECTOR = (
    "Électricité de Mayotte",
    "Société immobilière de Mayotte",
    "Régie du port de Longoni",
    "Office du tourisme de Mayotte",
    "Société d'aménagement de Mayotte",
    "Régie des eaux de Mayotte",
)
