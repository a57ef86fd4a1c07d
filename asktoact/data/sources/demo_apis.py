"""The invented API catalogue behind the demo corpus: domains, typed parameters, phrasings.

Each API lists its parameters as ``(name, type, kind, description, required)`` where ``kind``
picks a value generator in ``demo.py``, and a few sentence templates whose ``{param}`` slots are
filled with those values. A template mentions only some optional parameters; the gold solution
holds exactly the parameters its template mentions, so the query always states every value.
"""

from __future__ import annotations

STR, INT, NUM, ARR = "string", "integer", "number", "array"

# (domain, name, description, params, templates)
APIS = [
    (
        "weather",
        "get_forecast",
        "Daily weather forecast for a city.",
        [
            ("city", STR, "city", "City to forecast.", True),
            ("date", STR, "date", "Day, YYYY-MM-DD.", True),
            ("units", STR, "units", "metric or imperial.", False),
        ],
        [
            "What will the weather be like in {city} on {date}?",
            "Give me the {units} forecast for {city} on {date}.",
            "Check the forecast in {city} for {date}.",
        ],
    ),
    (
        "weather",
        "get_air_quality",
        "Current air-quality index for a city.",
        [("city", STR, "city", "City to check.", True)],
        ["How clean is the air in {city} right now?", "Get the air quality index for {city}."],
    ),
    (
        "weather",
        "get_uv_index",
        "Ultraviolet index for a location and hour.",
        [
            ("city", STR, "city", "City to check.", True),
            ("hour", INT, "hour", "Hour of day, 0-23.", True),
        ],
        ["What is the UV index in {city} at hour {hour}?"],
    ),
    (
        "travel",
        "search_flights",
        "Search one-way flights between two airports.",
        [
            ("origin", STR, "airport", "IATA code of the departure airport.", True),
            ("destination", STR, "airport", "IATA code of the arrival airport.", True),
            ("date", STR, "date", "Departure day, YYYY-MM-DD.", True),
            ("passengers", INT, "small_count", "Number of travellers.", False),
        ],
        [
            "Find flights from {origin} to {destination} on {date}.",
            "Search flights {origin} to {destination} on {date} for {passengers} passengers.",
        ],
    ),
    (
        "travel",
        "book_hotel",
        "Book a hotel room in a city.",
        [
            ("city", STR, "city", "City of the hotel.", True),
            ("check_in", STR, "date", "Arrival day, YYYY-MM-DD.", True),
            ("nights", INT, "nights", "Number of nights.", True),
            ("guests", INT, "small_count", "Number of guests.", False),
        ],
        [
            "Book a hotel in {city} from {check_in} for {nights} nights.",
            "Reserve a room in {city} checking in {check_in}, {nights} nights, {guests} guests.",
        ],
    ),
    (
        "travel",
        "convert_currency",
        "Convert an amount between currencies.",
        [
            ("amount", NUM, "amount", "Amount to convert.", True),
            ("from_currency", STR, "currency", "ISO code to convert from.", True),
            ("to_currency", STR, "currency", "ISO code to convert to.", True),
        ],
        [
            "Convert {amount} {from_currency} to {to_currency}.",
            "How much is {amount} {from_currency} in {to_currency}?",
        ],
    ),
    (
        "finance",
        "get_stock_quote",
        "Latest price of a stock ticker.",
        [("symbol", STR, "ticker", "Ticker symbol.", True)],
        ["What's the current price of {symbol}?", "Get me a quote for {symbol}."],
    ),
    (
        "finance",
        "compare_stocks",
        "Compare the performance of several tickers over a period.",
        [
            ("symbols", ARR, "tickers", "Ticker symbols to compare.", True),
            ("period_days", INT, "period", "Look-back window in days.", True),
        ],
        [
            "Compare {symbols} over the last {period_days} days.",
            "How did {symbols} perform over {period_days} days?",
        ],
    ),
    (
        "finance",
        "loan_payment",
        "Monthly payment of an amortised loan.",
        [
            ("principal", INT, "principal", "Loan amount.", True),
            ("annual_rate", NUM, "rate", "Yearly interest rate in percent.", True),
            ("years", INT, "years", "Loan term in years.", True),
        ],
        [
            "What is the monthly payment on a {principal} loan at {annual_rate} percent over {years} years?",
            "Calculate payments for borrowing {principal} at {annual_rate}% for {years} years.",
        ],
    ),
    (
        "messaging",
        "send_email",
        "Send an email.",
        [
            ("to", STR, "email", "Recipient address.", True),
            ("subject", STR, "subject", "Subject line.", True),
            ("body", STR, "message", "Message text.", False),
        ],
        [
            "Email {to} with the subject '{subject}'.",
            "Send an email to {to} titled '{subject}' saying '{body}'.",
        ],
    ),
    (
        "messaging",
        "send_sms",
        "Send a text message to a phone number.",
        [
            ("phone", STR, "phone", "Phone number with country code.", True),
            ("text", STR, "message", "Message text.", True),
        ],
        ["Text {phone} the message '{text}'.", "Send '{text}' by SMS to {phone}."],
    ),
    (
        "messaging",
        "invite_to_group",
        "Add people to a group chat.",
        [
            ("group", STR, "group", "Group chat name.", True),
            ("members", ARR, "people", "People to add.", True),
        ],
        ["Add {members} to the {group} group chat.", "Invite {members} into {group}."],
    ),
    (
        "calendar",
        "create_event",
        "Create a calendar event.",
        [
            ("title", STR, "event", "Event title.", True),
            ("date", STR, "date", "Day, YYYY-MM-DD.", True),
            ("time", STR, "time", "Start time, HH:MM.", True),
            ("duration_minutes", INT, "minutes", "Length in minutes.", False),
        ],
        [
            "Put '{title}' on my calendar on {date} at {time}.",
            "Schedule '{title}' for {date} at {time} lasting {duration_minutes} minutes.",
        ],
    ),
    (
        "calendar",
        "set_reminder",
        "Set a reminder.",
        [
            ("text", STR, "reminder", "What to be reminded of.", True),
            ("time", STR, "time", "HH:MM.", True),
        ],
        ["Remind me to {text} at {time}.", "Set a reminder at {time} to {text}."],
    ),
    (
        "calendar",
        "find_free_slot",
        "Find a free slot shared by several people.",
        [
            ("attendees", ARR, "people", "People who must attend.", True),
            ("date", STR, "date", "Day, YYYY-MM-DD.", True),
        ],
        [
            "When are {attendees} all free on {date}?",
            "Find a meeting slot for {attendees} on {date}.",
        ],
    ),
    (
        "shopping",
        "search_products",
        "Search the catalogue.",
        [
            ("query", STR, "product", "Product keywords.", True),
            ("max_price", INT, "price", "Price cap.", False),
            ("brand", STR, "brand", "Brand filter.", False),
        ],
        [
            "Find {query} under {max_price} dollars.",
            "Search for {brand} {query}.",
            "Look up {query} in the shop.",
        ],
    ),
    (
        "shopping",
        "track_order",
        "Status of an order.",
        [("order_id", STR, "order_id", "Order number.", True)],
        ["Where is my order {order_id}?", "Track order {order_id} for me."],
    ),
    (
        "shopping",
        "add_to_cart",
        "Add a product to the cart.",
        [
            ("product", STR, "product", "Product name.", True),
            ("quantity", INT, "small_count", "How many.", True),
        ],
        [
            "Add {quantity} {product} to my cart.",
            "Put {quantity} units of {product} in the basket.",
        ],
    ),
    (
        "food",
        "find_restaurants",
        "Restaurants by cuisine in a city.",
        [
            ("city", STR, "city", "City to search.", True),
            ("cuisine", STR, "cuisine", "Cuisine.", True),
            ("min_rating", INT, "rating", "Minimum stars, 1-5.", False),
        ],
        [
            "Find {cuisine} restaurants in {city}.",
            "Which {cuisine} places in {city} have at least {min_rating} stars?",
        ],
    ),
    (
        "food",
        "get_recipe",
        "Recipes containing given ingredients.",
        [
            ("ingredients", ARR, "ingredients", "Ingredients to use.", True),
            ("max_minutes", INT, "minutes", "Time limit in minutes.", False),
        ],
        [
            "Suggest a recipe with {ingredients}.",
            "What can I cook with {ingredients} in {max_minutes} minutes?",
        ],
    ),
    (
        "food",
        "order_delivery",
        "Order food delivery.",
        [
            ("restaurant", STR, "restaurant", "Restaurant name.", True),
            ("dish", STR, "dish", "Dish.", True),
            ("address", STR, "address", "Delivery address.", True),
        ],
        [
            "Order {dish} from {restaurant} to {address}.",
            "Get {dish} from {restaurant} delivered to {address}.",
        ],
    ),
    (
        "health",
        "log_workout",
        "Record a workout.",
        [
            ("activity", STR, "activity", "Kind of exercise.", True),
            ("minutes", INT, "minutes", "Length.", True),
        ],
        [
            "Log {minutes} minutes of {activity}.",
            "I did {activity} for {minutes} minutes, record it.",
        ],
    ),
    (
        "health",
        "book_doctor",
        "Book a doctor's appointment.",
        [
            ("specialty", STR, "specialty", "Medical specialty.", True),
            ("date", STR, "date", "YYYY-MM-DD.", True),
            ("city", STR, "city", "City of the clinic.", False),
        ],
        [
            "Book a {specialty} appointment on {date}.",
            "I need to see a {specialty} in {city} on {date}.",
        ],
    ),
    (
        "health",
        "bmi",
        "Body-mass index from weight and height.",
        [
            ("weight_kg", INT, "weight", "Weight in kg.", True),
            ("height_cm", INT, "height", "Height in cm.", True),
        ],
        ["What's the BMI for {weight_kg} kg and {height_cm} cm?"],
    ),
    (
        "media",
        "play_song",
        "Play a song.",
        [
            ("title", STR, "song", "Song title.", True),
            ("artist", STR, "artist", "Performer.", False),
        ],
        ["Play '{title}'.", "Play '{title}' by {artist}."],
    ),
    (
        "media",
        "movie_showtimes",
        "Cinema showtimes for a film.",
        [
            ("movie", STR, "movie", "Film title.", True),
            ("city", STR, "city", "City.", True),
            ("date", STR, "date", "YYYY-MM-DD.", True),
        ],
        [
            "When is '{movie}' showing in {city} on {date}?",
            "Showtimes for '{movie}' in {city} on {date}.",
        ],
    ),
    (
        "media",
        "create_playlist",
        "Create a playlist from songs.",
        [
            ("name", STR, "playlist", "Playlist name.", True),
            ("songs", ARR, "songs", "Song titles.", True),
        ],
        ["Make a playlist called '{name}' with {songs}.", "Create '{name}' containing {songs}."],
    ),
    (
        "maps",
        "get_directions",
        "Route between two places.",
        [
            ("origin", STR, "city", "Start.", True),
            ("destination", STR, "city", "End.", True),
            ("mode", STR, "mode", "driving, walking, transit or cycling.", False),
        ],
        [
            "How do I get from {origin} to {destination}?",
            "Give me {mode} directions from {origin} to {destination}.",
        ],
    ),
    (
        "maps",
        "nearby_places",
        "Points of interest near an address.",
        [
            ("address", STR, "address", "Where to search around.", True),
            ("category", STR, "place", "Kind of place.", True),
            ("radius_m", INT, "radius", "Metres.", False),
        ],
        [
            "Find a {category} near {address}.",
            "Any {category} within {radius_m} meters of {address}?",
        ],
    ),
    (
        "smart_home",
        "set_thermostat",
        "Set a room's target temperature.",
        [
            ("room", STR, "room", "Room name.", True),
            ("celsius", INT, "temperature", "Target in °C.", True),
        ],
        ["Set the {room} to {celsius} degrees.", "Make the {room} {celsius} degrees Celsius."],
    ),
    (
        "smart_home",
        "dim_lights",
        "Set the brightness of a room's lights.",
        [
            ("room", STR, "room", "Room name.", True),
            ("brightness", INT, "percent", "Percent, 0-100.", True),
        ],
        ["Set the {room} lights to {brightness} percent.", "Dim the {room} to {brightness}%."],
    ),
    (
        "smart_home",
        "start_appliance",
        "Start an appliance program.",
        [
            ("appliance", STR, "appliance", "Appliance.", True),
            ("program", STR, "program", "Program.", True),
            ("delay_minutes", INT, "minutes", "Delay before start.", False),
        ],
        [
            "Start the {appliance} on the {program} program.",
            "Run the {appliance} on {program} in {delay_minutes} minutes.",
        ],
    ),
    (
        "sports",
        "match_score",
        "Latest score of a team's match.",
        [("team", STR, "team", "Team name.", True)],
        ["What was the score of the last {team} game?", "How did {team} do in their last match?"],
    ),
    (
        "sports",
        "league_table",
        "Standings of a league in a season.",
        [
            ("league", STR, "league", "League name.", True),
            ("season", INT, "season", "Season year.", True),
        ],
        ["Show the {league} table for {season}.", "What were the {league} standings in {season}?"],
    ),
    (
        "jobs",
        "search_jobs",
        "Job listings.",
        [
            ("title", STR, "job", "Job title.", True),
            ("city", STR, "city", "City.", True),
            ("remote", STR, "yesno", "yes or no.", False),
        ],
        ["Find {title} jobs in {city}.", "Search {title} openings in {city}, remote: {remote}."],
    ),
    (
        "jobs",
        "salary_estimate",
        "Typical salary for a role and years of experience.",
        [
            ("title", STR, "job", "Job title.", True),
            ("years", INT, "experience", "Years of experience.", True),
        ],
        ["What does a {title} with {years} years of experience earn?"],
    ),
    (
        "real_estate",
        "list_rentals",
        "Apartments for rent.",
        [
            ("city", STR, "city", "City.", True),
            ("bedrooms", INT, "bedrooms", "Bedrooms.", True),
            ("max_rent", INT, "rent", "Monthly cap.", False),
        ],
        [
            "Show {bedrooms}-bedroom rentals in {city}.",
            "Find {bedrooms} bedroom apartments in {city} under {max_rent} a month.",
        ],
    ),
    (
        "education",
        "translate_text",
        "Translate text into a language.",
        [
            ("text", STR, "phrase", "Text to translate.", True),
            ("target", STR, "language", "Language.", True),
        ],
        ["Translate '{text}' into {target}.", "How do you say '{text}' in {target}?"],
    ),
    (
        "education",
        "define_word",
        "Dictionary definition of a word.",
        [("word", STR, "word", "Word to define.", True)],
        ["What does '{word}' mean?", "Define the word '{word}'."],
    ),
]

CONNECTORS = ["Also, ", "After that, ", "And then ", "Additionally, ", "Next, "]
