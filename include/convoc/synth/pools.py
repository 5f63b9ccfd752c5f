"""Name, street and care-home pools for the synthetic register, with each nationality's accents."""

from __future__ import annotations

# nationality → (share of residents, family names, female given names, male given names)
# Shares: STATEC 2021 (47 % foreign: Portuguese 14.5 %, French 7.6 %, Italian, Belgian, German, …).
NATIONALITIES: dict[str, tuple[float, list[str], list[str], list[str]]] = {
    "LU": (
        0.530,
        "Schmit Muller Weber Wagner Hoffmann Thill Reuter Kremer Schiltz Majerus Hansen Klein Schmitz Welter "
        "Becker Kieffer Schroeder Meyer Steffen Frisch Weis Theis Bettendorff Reding Wirtz Pütz Köller Gengler "
        "Hémmer Flammang".split(),
        "Léa Mia Emma Sophie Laura Anne Claire Monique Josée Marie-Thérèse Nathalie Carole Sandrine Joëlle "
        "Chloé Zoé Lena Jill".split(),
        "Jérôme Luc Gilles Marc Paul Jean Pierre Tom Ben Max Laurent Frank Romain Guy Raphaël René Noé Felix".split(),
    ),
    "PT": (
        0.145,
        "Gonçalves Conceição Simões Magalhães Leitão Fernandes Rodrigues Pereira Silva Santos Ferreira Lopes "
        "Gomes Marques Sousa Ribeiro Araújo Gonçalo Falcão Brandão Assunção Loureiro".split(),
        "Inês Conceição Glória Lúcia Ana Beatriz Sónia Mónica Vânia Márcia Fátima Filipa Sílvia Luísa".split(),
        "João Sebastião António José Luís Gonçalo Simão Tomás Rúben Fábio Hélder Márcio Estêvão Rui".split(),
    ),
    "FR": (
        0.076,
        "Lefèvre Bénard Côté Dupont Martin Bernard Petit Durand Leroy Moreau Lemaître Girard Chevalier "
        "Fournier Mercier Lévêque Bélanger".split(),
        "Hélène Gaëlle Élodie Céline Amélie Chloé Océane Clémence Mélanie Noémie Léonie Agnès".split(),
        "François Jérôme Théo Raphaël Benoît Noël Aurélien Cédric Frédéric Léo Mathéo Loïc".split(),
    ),
    "IT": (
        0.036,
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti De Luca".split(),
        "Giulia Chiara Francesca Sara Martina Alessia Federica Valentina Noemi".split(),
        "Luca Marco Giuseppe Andrea Matteo Niccolò Lorenzo Davide Nicolò".split(),
    ),
    "BE": (
        0.031,
        "Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters Dubois Lambert Dupont Renard".split(),
        "Emma Louise Marie Élise Manon Léonie Anaïs Hélène".split(),
        "Lucas Louis Noah Arthur Adrien Benoît Maxime Cédric".split(),
    ),
    "DE": (
        0.020,
        "Müller Schröder Strauß Schäfer Köhler Groß Weiß Jäger Günther Krämer Böhm Fuß Möller Schütz".split(),
        "Anna Lena Käthe Ursula Sabine Bärbel Grete Jana Luisa Jördis".split(),
        "Jürgen Jörg Günther Jürgen-Otto Björn Uwe Horst Lukas Maximilian Sören".split(),
    ),
    "ES": (
        0.013,
        "Muñoz Núñez Peña García Martínez López Sánchez Pérez Gómez Ibáñez Fernández".split(),
        "Begoña María Lucía Inés Núria Sofía Pilar Ángela".split(),
        "José Íñigo Ángel Jesús Andrés Rubén Iván Nicolás".split(),
    ),
    "PL": (
        0.010,
        "Wójcik Kowalski Nowak Łukasiewicz Ściborski Wiśniewski Dąbrowski Kamiński Zieliński Woźniak".split(),
        "Małgorzata Agnieszka Katarzyna Łucja Żaneta Joanna".split(),
        "Łukasz Paweł Michał Wojciech Krzysztof Jędrzej".split(),
    ),
    "RO": (
        0.010,
        "Popescu Țurcanu Ionescu Mureșan Ștefănescu Dumitrescu Răducanu Constantinescu".split(),
        "Ioana Andreea Mădălina Ștefania Alexandra Raluca".split(),
        "Ștefan Șerban Mihai Andrei Radu Bogdan".split(),
    ),
    "GB": (
        0.009,
        "Smith Jones Taylor Brown Williams Wilson Evans O'Brien".split(),
        "Olivia Amelia Emily Charlotte Grace".split(),
        "Oliver Harry George Jack Thomas".split(),
    ),
    "NL": (
        0.007,
        "de Jong Jansen de Vries van den Berg van Dijk Bakker Visser".split(),
        "Anouk Sanne Femke Lotte Eva".split(),
        "Daan Sem Bram Jeroen Thijs".split(),
    ),
    "GR": (
        0.007,
        "Papadopoulos Georgiou Nikolaidis Oikonomou Dimitriou".split(),
        "Eleni Maria Katerina Sofia".split(),
        "Giorgos Dimitris Nikos Kostas".split(),
    ),
    "HU": (
        0.004,
        "Erdős Kővári Szőke Nagy Kovács Tóth Szabó Horváth Gyűrű".split(),
        "Erzsébet Katalin Zsófia Ildikó Enikő".split(),
        "Győző László Zoltán Ödön Ferenc".split(),
    ),
    "DK": (
        0.004,
        "Sørensen Møller Jørgensen Nielsen Hansen Østergaard".split(),
        "Søs Mette Karen Birthe Sørine".split(),
        "Søren Bjørn Jørgen Anders Mads".split(),
    ),
    "NO": (
        0.002,
        "Bjørnstad Løvås Haugen Johansen Sæther Kjær".split(),
        "Ingrid Kjærsti Åse Solveig".split(),
        "Bjørn Øystein Håkon Ståle".split(),
    ),
    "CV": (
        0.012,
        "Tavares Monteiro Semedo Lopes Fortes Varela".split(),
        "Aldina Eunice Nélia Odete".split(),
        "Adilson Nélson Érico Ailton".split(),
    ),
    "BR": (
        0.006,
        "Oliveira Souza Lima Carvalho Araújo Barbosa".split(),
        "Larissa Letícia Bruna Thaís Júlia".split(),
        "Thiago Leandro Vinícius Caio Luan".split(),
    ),
    "US": (
        0.004,
        "Johnson Miller Davis Anderson Moore".split(),
        "Emily Madison Abigail Hannah".split(),
        "Michael Ethan Tyler Ryan".split(),
    ),
    "CN": (
        0.005,
        "Wang Li Zhang Liu Chen Yang".split(),
        "Mei Xiu Ying Lan".split(),
        "Wei Jun Hao Lei".split(),
    ),
    "IN": (
        0.005,
        "Sharma Patel Singh Kumar Iyer".split(),
        "Priya Ananya Divya Kavya".split(),
        "Arjun Rahul Vikram Rohan".split(),
    ),
    "SY": (
        0.004,
        "Al-Hassan Haddad Khalil Nasser Mansour".split(),
        "Layla Rania Yasmin Nour".split(),
        "Omar Karim Ahmad Samir".split(),
    ),
}

# Remaining share: other nationalities, drawn with these names.
OTHER = "XX"

STREETS = [
    "rue de la Gare",
    "route d'Arlon",
    "Grand-Rue",
    "rue Principale",
    "Hauptstrooss",
    "rue de l'Église",
    "avenue de la Liberté",
    "rue du Moulin",
    "rue des Champs",
    "rue de Luxembourg",
    "route de Thionville",
    "rue de la Forêt",
    "rue du Cimetière",
    "rue des Jardins",
    "rue de l'École",
    "boulevard Royal",
    "avenue Pasteur",
    "rue Michel Rodange",
    "rue Dicks",
    "rue Jean-Pierre Brasseur",
    "Kierchestrooss",
    "Bergstrooss",
    "rue des Prés",
    "rue du Château",
    "allée Scheffer",
    "rue de Hollerich",
    "montée de la Pétrusse",
    "rue Sainte-Zithe",
    "rue Belair",
    "Um Bierg",
]

# Long names the letter renderer must shorten (DIN 5008 window: 85 mm wide).
LONG_STREETS = [
    "rue du Cimetière et de l'Ancienne Chapelle Saint-Jean-Baptiste",
    "boulevard de la Grande-Duchesse Charlotte et du Prince Félix de Bourbon-Parme",
    "rue du Lieutenant-Colonel Jean-Pierre Eugène Grün-Schrobilgen",
    "Chemin rural des Vergers de la Vallée de l'Alzette supérieure",
]

CARE_HOMES = [
    "CIPA Rëmelreed",
    "Maison de Soins Beim Goldknapp",
    "Résidence Op der Rhum",
    "CIPA Am Park",
    "Maison de Soins Sonnenuewen",
    "Résidence des Ardennes",
    "CIPA Op Lamber",
    "Maison de Soins Bärwiese",
    "Résidence Sainte-Zithe",
    "CIPA Um Lauterbann",
    "Maison de Soins Bei der Sauer",
    "Résidence Grande-Duchesse Joséphine-Charlotte",
]

PROFESSIONS = (
    ["nurse", "carer", "doctor", "pharmacist", "physiotherapist", "midwife", "dentist", "paramedic"],
    [0.36, 0.24, 0.12, 0.07, 0.08, 0.03, 0.04, 0.06],
)
SECTORS = ["hospital", "practice", "care_home", "pharmacy", "rescue"]

VULNERABLE_CONDITIONS = {
    "high": ["transplant", "dialysis", "cancer_treatment", "immunodeficiency"],
    "significant": ["heart_failure", "copd", "diabetes_complicated", "neuromuscular"],
    "moderate": ["asthma_severe", "liver_disease", "kidney_disease", "heart_disease"],
}

UNKNOWN_COMMUNES = ["Luxemburg-Stadt", "Esch-Alzette", "Atlantis", "Ettelbréck-Nord", "Luxembourg City", "Diekrich"]
