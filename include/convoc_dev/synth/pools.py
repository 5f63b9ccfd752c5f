"""The fixed vocabularies of the synthetic register: names per nationality, streets, care homes, codes.

Names are real-looking and keep each language's letters (Gonçalves, Łukasz, Ștefan, Søren, Strauß …),
so the letter renderer and the pipeline meet every accent a real Luxembourg extract carries.
"""

from __future__ import annotations

from typing import NamedTuple


def _names(text: str) -> tuple[str, ...]:
    """A pool written as one comma-separated string (names may hold spaces: "de Jong")."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


class Nationality(NamedTuple):
    """One nationality: ISO 3166-1 alpha-2 code, share of residents, and its name pools."""

    code: str
    share: float
    family: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]


# Shares of residents on 1 Jan 2021 (STATEC; 47 % foreign). The small "other" nationalities share
# the remainder; the table is normalised where it is used.
NATIONALITIES: tuple[Nationality, ...] = (
    Nationality(
        "LU",
        0.530,
        _names(
            "Schmit, Muller, Weber, Wagner, Hoffmann, Thill, Reuter, Kremer, Schiltz, Majerus, Hansen, Klein, "
            "Schmitz, Welter, Becker, Kieffer, Schroeder, Meyer, Steffen, Frisch, Weis, Theis, Bettendorff, "
            "Reding, Wirtz, Pütz, Köller, Gengler, Flammang, Feltgen, Hëttermann, Lëtsch, Faber, Goedert, "
            "Origer, Zeimet, Birtz, Gloden"
        ),
        _names(
            "Léa, Mia, Emma, Sophie, Laura, Anne, Claire, Monique, Josée, Marie-Thérèse, Nathalie, Carole, "
            "Sandrine, Joëlle, Chloé, Zoé, Lena, Jill, Malou, Nicole, Michèle, Renée, Liliane, Martine, "
            "Christiane, Nadine, Josiane, Léonie"
        ),
        _names(
            "Jérôme, Luc, Gilles, Marc, Paul, Jean, Pierre, Tom, Ben, Max, Laurent, Frank, Romain, Guy, "
            "Raphaël, René, Noé, Felix, Jos, Nico, Claude, Fernand, Jängi, Mett, Serge, Yves, Gérard, Théo"
        ),
    ),
    Nationality(
        "PT",
        0.145,
        _names(
            "Gonçalves, Conceição, Simões, Magalhães, Leitão, Fernandes, Rodrigues, Pereira, Silva, Santos, "
            "Ferreira, Lopes, Gomes, Marques, Sousa, Ribeiro, Araújo, Falcão, Brandão, Assunção, Loureiro, "
            "Guimarães, Gusmão, Damião, Romão, Mourão, Estêvão, Carvalho, Gaspar, Antunes"
        ),
        _names(
            "Inês, Conceição, Glória, Lúcia, Ana, Beatriz, Sónia, Mónica, Vânia, Márcia, Fátima, Filipa, "
            "Sílvia, Luísa, Joana, Mariana, Leonor, Irene, Cátia, Débora, Rosário, Benedita"
        ),
        _names(
            "João, Sebastião, António, José, Luís, Gonçalo, Simão, Tomás, Rúben, Fábio, Hélder, Márcio, "
            "Estêvão, Rui, Nuno, Tiago, Vítor, Joaquim, Adão, Martim, Duarte"
        ),
    ),
    Nationality(
        "FR",
        0.076,
        _names(
            "Lefèvre, Bénard, Côté, Dupont, Martin, Bernard, Petit, Durand, Leroy, Moreau, Lemaître, Girard, "
            "Chevalier, Fournier, Mercier, Lévêque, Bélanger, Dubœuf, Gérard, Hébert, Mégret, Sénéchal, "
            "Thévenin, Prévost, Rousseau, Fèvre"
        ),
        _names(
            "Hélène, Gaëlle, Élodie, Céline, Amélie, Chloé, Océane, Clémence, Mélanie, Noémie, Léonie, Agnès, "
            "Anaïs, Maëlle, Thérèse, Solène, Inès, Camille, Margaux, Eugénie"
        ),
        _names(
            "François, Jérôme, Théo, Raphaël, Benoît, Noël, Aurélien, Cédric, Frédéric, Léo, Mathéo, Loïc, "
            "Gaël, Jérémie, Stéphane, Hervé, Joël, Régis, Anthony, Étienne"
        ),
    ),
    Nationality(
        "IT",
        0.036,
        _names(
            "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, Bruno, Gallo, "
            "Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti, Barbieri, Fontana, Santoro, "
            "Mariani, Rinaldi, Caruso, Ferrara, D'Angelo"
        ),
        _names(
            "Giulia, Chiara, Francesca, Sara, Martina, Alessia, Federica, Valentina, Noemi, Aurora, Giorgia, "
            "Elisa, Beatrice, Ilaria, Lucrezia, Rosa"
        ),
        _names(
            "Luca, Marco, Giuseppe, Andrea, Matteo, Niccolò, Lorenzo, Davide, Nicolò, Francesco, Alessandro, "
            "Gabriele, Riccardo, Tommaso, Salvatore, Giosuè"
        ),
    ),
    Nationality(
        "BE",
        0.031,
        _names(
            "Peeters, Janssens, Maes, Jacobs, Mertens, Willems, Claes, Goossens, Wouters, Dubois, Lambert, "
            "Dupont, Renard, Lemaire, Leclercq, Hermans, Michiels, Desmet, Lejeune, Noël, Gérard, Dethier"
        ),
        _names("Emma, Louise, Marie, Élise, Manon, Léonie, Anaïs, Hélène, Juliette, Zoé, Clémentine, Aurélie"),
        _names("Lucas, Louis, Noah, Arthur, Adrien, Benoît, Maxime, Cédric, Thibault, Grégoire, Rémi, Jérémy"),
    ),
    Nationality(
        "DE",
        0.020,
        _names(
            "Müller, Schröder, Strauß, Schäfer, Köhler, Groß, Weiß, Jäger, Günther, Krämer, Böhm, Fuß, Möller, "
            "Schütz, Schmidt, Fischer, Meißner, Vogel, Hoffmann, Bäcker, Brückner, Lößner"
        ),
        _names("Anna, Lena, Käthe, Ursula, Sabine, Bärbel, Grete, Jana, Luisa, Jördis, Hannelore, Jutta"),
        _names("Jürgen, Jörg, Günther, Björn, Uwe, Horst, Lukas, Maximilian, Sören, Jörn, Dieter, Klaus, Bernd"),
    ),
    Nationality(
        "ES",
        0.013,
        _names(
            "Muñoz, Núñez, Peña, García, Martínez, López, Sánchez, Pérez, Gómez, Ibáñez, Fernández, Castaño, "
            "Yáñez, Ordóñez, Rodríguez, Jiménez"
        ),
        _names("Begoña, María, Lucía, Inés, Núria, Sofía, Pilar, Ángela, Maite, Iciar, Almudena"),
        _names("José, Íñigo, Ángel, Jesús, Andrés, Rubén, Iván, Nicolás, Joaquín, Álvaro, Gonzalo"),
    ),
    Nationality(
        "PL",
        0.010,
        _names(
            "Wójcik, Kowalski, Nowak, Łukasiewicz, Ściborski, Wiśniewski, Dąbrowski, Kamiński, Zieliński, "
            "Woźniak, Małecki, Jabłoński, Michałowski"
        ),
        _names("Małgorzata, Agnieszka, Katarzyna, Łucja, Żaneta, Joanna, Urszula, Jadwiga, Bożena"),
        _names("Łukasz, Paweł, Michał, Wojciech, Krzysztof, Jędrzej, Przemysław, Bartłomiej, Rafał"),
    ),
    Nationality(
        "RO",
        0.010,
        _names(
            "Popescu, Țurcanu, Ionescu, Mureșan, Ștefănescu, Dumitrescu, Răducanu, Constantinescu, Păun, "
            "Moldoveanu, Bălășescu, Tănase"
        ),
        _names("Ioana, Andreea, Mădălina, Ștefania, Alexandra, Raluca, Oana, Irina, Cosmina"),
        _names("Ștefan, Șerban, Mihai, Andrei, Radu, Bogdan, Costică, Ionuț, Mircea"),
    ),
    Nationality(
        "GB",
        0.009,
        _names("Smith, Jones, Taylor, Brown, Williams, Wilson, Evans, O'Brien, Thomas, Roberts, Walker, Wright"),
        _names("Olivia, Amelia, Emily, Charlotte, Grace, Sophie, Isla, Poppy"),
        _names("Oliver, Harry, George, Jack, Thomas, James, William, Alfie"),
    ),
    Nationality(
        "NL",
        0.007,
        _names("de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Visser, Smit, Meijer, de Boer"),
        _names("Anouk, Sanne, Femke, Lotte, Eva, Noor, Fenna"),
        _names("Daan, Sem, Bram, Jeroen, Thijs, Joost, Ruud"),
    ),
    Nationality(
        "GR",
        0.007,
        _names("Papadopoulos, Georgiou, Nikolaidis, Oikonomou, Dimitriou, Papadakis, Vlachos"),
        _names("Eleni, Maria, Katerina, Sofia, Despina, Vasiliki"),
        _names("Giorgos, Dimitris, Nikos, Kostas, Yannis, Stavros"),
    ),
    Nationality(
        "HU",
        0.004,
        _names("Erdős, Kővári, Szőke, Nagy, Kovács, Tóth, Szabó, Horváth, Győri, Bőthe, Fekete"),
        _names("Erzsébet, Katalin, Zsófia, Ildikó, Enikő, Réka, Tünde, Csilla"),
        _names("Győző, László, Zoltán, Ödön, Ferenc, Előd, Levente, Bálint"),
    ),
    Nationality(
        "DK",
        0.004,
        _names("Sørensen, Møller, Jørgensen, Nielsen, Hansen, Østergaard, Kjær, Søndergaard"),
        _names("Søs, Mette, Karen, Birthe, Sørine, Ditte, Maja"),
        _names("Søren, Bjørn, Jørgen, Anders, Mads, Rasmus, Jørn"),
    ),
    Nationality(
        "NO",
        0.002,
        _names("Bjørnstad, Løvås, Haugen, Johansen, Sæther, Kjær, Strøm, Dahl"),
        _names("Ingrid, Kjærsti, Åse, Solveig, Sigrid, Tone"),
        _names("Bjørn, Øystein, Håkon, Ståle, Ørjan, Sindre"),
    ),
    Nationality(
        "CV",
        0.016,
        _names("Tavares, Monteiro, Semedo, Lopes, Fortes, Varela, Barros, Gonçalves, Mendes"),
        _names("Aldina, Eunice, Nélia, Odete, Zuleica, Ivone"),
        _names("Adilson, Nélson, Érico, Ailton, Edmilson, Hélio"),
    ),
    Nationality(
        "BR",
        0.010,
        _names("Oliveira, Souza, Lima, Carvalho, Araújo, Barbosa, Ribeiro, Rocha"),
        _names("Larissa, Letícia, Bruna, Thaís, Júlia, Luana"),
        _names("Thiago, Leandro, Vinícius, Caio, Luan, Matheus"),
    ),
    Nationality(
        "US",
        0.006,
        _names("Johnson, Miller, Davis, Anderson, Moore, Clark, Lewis"),
        _names("Emily, Madison, Abigail, Hannah, Ashley"),
        _names("Michael, Ethan, Tyler, Ryan, Brandon"),
    ),
    Nationality(
        "CN",
        0.007,
        _names("Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao"),
        _names("Mei, Xiu, Ying, Lan, Jing, Hui"),
        _names("Wei, Jun, Hao, Lei, Ming, Tao"),
    ),
    Nationality(
        "IN",
        0.008,
        _names("Sharma, Patel, Singh, Kumar, Iyer, Reddy, Nair, Gupta"),
        _names("Priya, Ananya, Divya, Kavya, Lakshmi, Sneha"),
        _names("Arjun, Rahul, Vikram, Rohan, Aditya, Sanjay"),
    ),
    Nationality(
        "SY",
        0.006,
        _names("Al-Hassan, Haddad, Khalil, Nasser, Mansour, Al-Masri, Darwish"),
        _names("Layla, Rania, Yasmin, Nour, Hiba, Lina"),
        _names("Omar, Karim, Ahmad, Samir, Khaled, Bassel"),
    ),
    Nationality(
        "ME",
        0.009,
        _names("Vuković, Popović, Đukanović, Kovačević, Radović, Šćekić, Mijatović"),
        _names("Jelena, Milica, Ivana, Dragana, Snežana"),
        _names("Marko, Nikola, Miloš, Đorđe, Dušan"),
    ),
    Nationality(
        "RS",
        0.005,
        _names("Jovanović, Petrović, Nikolić, Marković, Đorđević, Stojanović, Ilić"),
        _names("Jovana, Marija, Tijana, Ljiljana, Vesna"),
        _names("Stefan, Lazar, Aleksandar, Vladimir, Žarko"),
    ),
    Nationality(
        "BG",
        0.003,
        _names("Ivanov, Georgiev, Dimitrov, Petrov, Nikolov, Stoyanov"),
        _names("Maria, Ivana, Elena, Desislava, Tsvetelina"),
        _names("Georgi, Ivan, Dimitar, Nikolay, Hristo"),
    ),
    Nationality(
        "AT",
        0.003,
        _names("Gruber, Huber, Bauer, Wagner, Pichler, Steiner, Moser, Hölzl, Aigner"),
        _names("Johanna, Theresa, Magdalena, Anna-Lena, Brigitte"),
        _names("Florian, Stefan, Matthias, Andreas, Lukas, Jürgen"),
    ),
    Nationality(
        "SE",
        0.003,
        _names("Andersson, Johansson, Karlsson, Nilsson, Eriksson, Lindström, Åberg"),
        _names("Elsa, Astrid, Märta, Linnéa, Saga"),
        _names("Erik, Lars, Nils, Göran, Björn"),
    ),
    Nationality(
        "FI",
        0.002,
        _names("Korhonen, Virtanen, Mäkinen, Nieminen, Hämäläinen, Koskinen"),
        _names("Aino, Päivi, Sanna, Leena, Tuulikki"),
        _names("Mikko, Jukka, Väinö, Antti, Pekka"),
    ),
    Nationality(
        "IE",
        0.002,
        _names("Murphy, Kelly, O'Sullivan, Walsh, O'Connor, McCarthy, Ó Briain"),
        _names("Aoife, Siobhán, Niamh, Caoimhe, Róisín"),
        _names("Seán, Cian, Oisín, Pádraig, Darragh"),
    ),
    Nationality(
        "UA",
        0.004,
        _names("Shevchenko, Kovalenko, Bondarenko, Tkachenko, Kravchenko, Oliynyk"),
        _names("Olena, Oksana, Iryna, Nataliya, Yuliya"),
        _names("Oleksandr, Andriy, Dmytro, Serhiy, Taras"),
    ),
    Nationality(
        "TR",
        0.004,
        _names("Yılmaz, Kaya, Demir, Şahin, Çelik, Öztürk, Aydın"),
        _names("Ayşe, Elif, Zeynep, Gülşen, Özlem"),
        _names("Mehmet, Mustafa, Ahmet, Emre, Barış"),
    ),
    Nationality(
        "MA",
        0.002,
        _names("El Amrani, Benali, Bouzid, El Idrissi, Tazi, Alaoui"),
        _names("Fatima, Khadija, Salma, Imane, Meryem"),
        _names("Youssef, Mohamed, Hamza, Mehdi, Rachid"),
    ),
    Nationality(
        "CM",
        0.002,
        _names("Nkono, Mbarga, Ngo Bakang, Fotso, Kamga, Tchoungui"),
        _names("Brigitte, Clarisse, Ornella, Nadège, Solange"),
        _names("Samuel, Étienne, Joël, Rigobert, Serge"),
    ),
    Nationality(
        "ER",
        0.002,
        _names("Tesfay, Ghebremedhin, Haile, Tekle, Berhane, Yohannes"),
        _names("Senait, Helen, Yordanos, Selam, Feven"),
        _names("Dawit, Yonas, Biniam, Filmon, Mehari"),
    ),
    Nationality(
        "JP",
        0.002,
        _names("Satō, Suzuki, Takahashi, Tanaka, Itō, Watanabe"),
        _names("Yuki, Haruka, Aiko, Sakura, Yūko"),
        _names("Haruto, Kenta, Takeshi, Shōta, Daiki"),
    ),
)

# Streets as they appear on Luxembourg letters (French and Luxembourgish names).
STREETS: tuple[str, ...] = (
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
    "rue de Mamer",
    "route d'Esch",
    "rue de Strasbourg",
    "avenue de la Gare",
    "rue Large",
    "rue du Village",
    "rue des Vignes",
    "rue de la Montagne",
    "rue du Parc",
    "Duerfstrooss",
    "Schoulstrooss",
    "Waldstrooss",
    "rue Émile Mayrisch",
    "rue de Beggen",
    "rue de Neudorf",
    "rue de Trèves",
    "avenue Gaston Diderich",
    "rue Nicolas Welter",
    "rue de la Fontaine",
    "rue des Romains",
    "rue du Stade",
    "rue de Bettembourg",
    "route de Longwy",
    "rue Victor Hugo",
    "rue de la Chapelle",
    "rue des Aubépines",
    "rue des Acacias",
    "Op der Heed",
    "Am Duerf",
    "rue Zénon Bernard",
    "rue Jos Kieffer",
    "Millewee",
    "Bëschwee",
    "rue Dr Émile Colling",
)

# Real Luxembourg streets can be this long; the letter renderer has to shorten them for the window.
LONG_STREETS: tuple[str, ...] = (
    "rue du Cimetière et de l'Ancienne Chapelle Saint-Jean-Baptiste",
    "boulevard de la Grande-Duchesse Charlotte et du Prince Félix",
    "rue du Lieutenant-Colonel Jean-Pierre Eugène Grün-Schrobilgen",
    "chemin rural des Vergers de la Vallée de l'Alzette supérieure",
    "rue des Trois Cantons et de la Croix de Saint-Pierre-aux-Liens",
    "avenue du Président Joseph Bech et des Anciens Combattants",
    "rue de la Résistance et des Enrôlés de Force 1940-1945",
    "montée du Plateau du Saint-Esprit et de la Citadelle du Rham",
)

CARE_HOME_KINDS: tuple[str, ...] = ("CIPA", "Maison de Soins", "Résidence", "Seniorie", "Foyer de Jour et de Soins")
CARE_HOME_NAMES: tuple[str, ...] = (
    "Rëmelreed",
    "Beim Goldknapp",
    "Op der Rhum",
    "Am Park",
    "Sonnenuewen",
    "des Ardennes",
    "Op Lamber",
    "Bärwiese",
    "Sainte-Zithe",
    "Um Lauterbann",
    "Bei der Sauer",
    "Saint-Joseph",
    "An de Wisen",
    "Um Schlassbierg",
    "Beim Klouschter",
    "Mont Saint-Lambert",
    "Sonnebierg",
    "Op Lamp",
    "Tony Neuman",
    "Riedgen",
)

# Health and care professions with their share of the health-worker list, and the sectors each works in.
PROFESSIONS: tuple[tuple[str, float, tuple[tuple[str, float], ...]], ...] = (
    ("nurse", 0.36, (("hospital", 0.65), ("care_home", 0.2), ("practice", 0.15))),
    ("carer", 0.24, (("care_home", 0.6), ("hospital", 0.4))),
    ("doctor", 0.12, (("hospital", 0.45), ("practice", 0.55))),
    ("pharmacist", 0.07, (("pharmacy", 0.9), ("hospital", 0.1))),
    ("physiotherapist", 0.08, (("practice", 0.75), ("hospital", 0.2), ("care_home", 0.05))),
    ("midwife", 0.03, (("hospital", 0.85), ("practice", 0.15))),
    ("dentist", 0.04, (("practice", 1.0),)),
    ("paramedic", 0.06, (("rescue", 1.0),)),
)
SECTORS: tuple[str, ...] = ("hospital", "practice", "care_home", "pharmacy", "rescue")

# Conditions doctors register for each vulnerability level (short codes, as in the doctors' form).
VULNERABLE_CONDITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("high", ("transplant", "dialysis", "cancer_treatment", "immunodeficiency", "bone_marrow")),
    ("significant", ("heart_failure", "copd", "cancer", "diabetes_complicated", "neuromuscular", "down_syndrome")),
    ("moderate", ("asthma_severe", "liver_disease", "kidney_disease", "heart_disease", "obesity_severe")),
)

# Misspelt or invented commune names for the unknown_commune defect (checked against the reference).
UNKNOWN_COMMUNES: tuple[str, ...] = (
    "Luxemburg-Stadt",
    "Esch-Alzette",
    "Luxembourg-Ville",
    "Diekrich",
    "Ettelbreck",
    "Esch/Alzette",
    "Nordstad",
    "Dudelange-Nord",
    "Wiltz-Ville",
    "Atlantis",
)
