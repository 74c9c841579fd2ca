//! The quick classifier's lexicon: words and short phrases with a weight toward a category,
//! hashed into one table built on first use.
//!
//! Entries are written as `category weight: phrase, phrase, ...`; a phrase of up to four words
//! matches those words in a row (hyphens and spaces between them alike). Weights are evidence,
//! not rules: 4–6 is nearly decisive (`traceback`, `limerick`, `viewpoints`), 2–3 is a strong
//! hint, below 1.5 a nudge for words that live in several worlds (`bug`, `java`, `thread`).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::classify::Category;

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Two-byte operators that mostly occur in code.
pub const OPERATORS: &[&[u8]] = &[
    b"=>", b"->", b"::", b"==", b"!=", b"+=", b"-=", b"&&", b"||", b"</", b"/>", b":=",
];

pub fn fnv_step(hash: u64, byte: u8) -> u64 {
    (hash ^ byte as u64).wrapping_mul(FNV_PRIME)
}

/// The hash of a phrase from the hashes of its words.
pub fn combine(a: u64, b: u64) -> u64 {
    (a.rotate_left(17) ^ b).wrapping_mul(FNV_PRIME)
}

fn hash_word(word: &str) -> u64 {
    word.bytes()
        .fold(FNV_OFFSET, |h, b| fnv_step(h, b.to_ascii_lowercase()))
}

/// The hash a phrase gets when the classifier reads it (same word rules, `c++` included).
fn hash_phrase(phrase: &str) -> u64 {
    let mut words = phrase
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '+'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let base = w.trim_end_matches('+');
            if base.len() < w.len() {
                fnv_step(hash_word(base), b'+')
            } else {
                hash_word(w)
            }
        });
    let first = words.next().unwrap_or(FNV_OFFSET);
    words.fold(first, combine)
}

fn words(phrase: &str) -> usize {
    phrase
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '+'))
        .filter(|w| !w.is_empty())
        .count()
}

/// The lookup table.
pub struct Lexicon {
    entries: HashMap<u64, Entry>,
    wh: Vec<u64>,
    write_verbs: Vec<u64>,
}

struct Entry {
    weights: [f32; 5],
    /// The phrase as written, for the routing reason.
    text: &'static str,
}

impl Lexicon {
    /// Adds the weights of the word or phrase with this hash, if any.
    pub(super) fn lookup(&self, hash: u64, scale: f32, acc: &mut super::classify::Accumulator) {
        if let Some(entry) = self.entries.get(&hash) {
            if !acc.first_sight(hash) {
                return;
            }
            for category in Category::ALL {
                let w = entry.weights[category.index()];
                if w != 0.0 {
                    acc.add(category, w * scale, entry.text);
                }
            }
        }
    }

    pub fn is_wh(&self, hash: u64) -> bool {
        self.wh.contains(&hash)
    }

    pub fn is_write_verb(&self, hash: u64) -> bool {
        self.write_verbs.contains(&hash)
    }

    /// How many words and phrases the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The table, built once.
pub fn get() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(build)
}

fn build() -> Lexicon {
    let mut entries: HashMap<u64, Entry> = HashMap::new();
    for line in TABLE.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (head, phrases) = line.split_once(':').expect("lexicon line has a ':'");
        let (category, weight) = head.trim().split_once(' ').expect("category weight");
        let category = Category::parse(category).expect("lexicon category");
        let weight: f32 = weight.trim().parse().expect("lexicon weight");
        for phrase in phrases.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            debug_assert!(
                words(phrase) <= 4,
                "lexicon phrase over four words: {phrase}"
            );
            let entry = entries.entry(hash_phrase(phrase)).or_insert(Entry {
                weights: [0.0; 5],
                text: phrase,
            });
            entry.weights[category.index()] += weight;
        }
    }
    let hashes = |words: &[&str]| words.iter().map(|w| hash_word(w)).collect();
    Lexicon {
        entries,
        wh: hashes(&[
            "what", "who", "when", "where", "why", "how", "which", "whats",
        ]),
        write_verbs: hashes(&[
            "write", "draft", "compose", "rewrite", "make", "create", "give", "suggest", "tell",
            "plan", "help", "describe",
        ]),
    }
}

/// File extensions that name source or config files.
pub fn is_code_extension(ext: &[u8]) -> bool {
    const EXTENSIONS: &[&str] = &[
        "py",
        "js",
        "ts",
        "jsx",
        "tsx",
        "mjs",
        "rs",
        "go",
        "java",
        "c",
        "h",
        "cpp",
        "hpp",
        "cc",
        "cs",
        "rb",
        "php",
        "kt",
        "kts",
        "swift",
        "scala",
        "sh",
        "bash",
        "zsh",
        "ps1",
        "sql",
        "json",
        "yaml",
        "yml",
        "toml",
        "html",
        "css",
        "scss",
        "vue",
        "svelte",
        "lua",
        "pl",
        "ex",
        "exs",
        "hs",
        "dart",
        "jl",
        "ipynb",
        "xml",
        "gradle",
        "ini",
        "cfg",
        "conf",
        "lock",
        "env",
        "dockerfile",
        "tf",
        "proto",
        "wasm",
        "so",
        "dll",
        "exe",
        "o",
    ];
    EXTENSIONS
        .iter()
        .any(|e| e.as_bytes().eq_ignore_ascii_case(ext))
}

/// Tool names of coding agents (Claude Code, Codex, editors' assistants).
pub fn is_coding_tool(name: &str) -> bool {
    const TOOLS: &[&str] = &[
        "bash",
        "shell",
        "read",
        "edit",
        "write",
        "multiedit",
        "grep",
        "glob",
        "ls",
        "str_replace_editor",
        "str_replace_based_edit_tool",
        "apply_patch",
        "exec_command",
        "run_terminal_cmd",
        "codebase_search",
        "notebookedit",
        "view",
        "create_file",
        "read_file",
        "write_file",
        "edit_file",
        "list_dir",
        "search_files",
        "local_shell",
    ];
    TOOLS.iter().any(|t| t.eq_ignore_ascii_case(name))
}

/// The lexicon. Categories: code, research, conversation, complex, multi.
const TABLE: &str = r#"
code 4: python, javascript, typescript, golang, kotlin, scala, haskell, elixir, erlang, php, perl, lua, matlab, cpp, c++, c#, f#, rustc, sql, mysql, postgres, postgresql, sqlite, mongodb, powershell, html, css, jsx, tsx, json, yaml, regex, regexp, vba, solidity, arduino, verilog, dockerfile, kubernetes, k8s, kubectl, terraform, ansible, nginx, webpack, eslint, pytest, jest, junit, django, flask, fastapi, laravel, numpy, pandas, scipy, matplotlib, pytorch, tensorflow, jupyter, vscode, vs code, neovim, intellij, xcode, swiftui, kotlinx, tokio, axum, serde, gunicorn, graphql, nodejs, node js, npm, pip install, traceback, stacktrace, stack trace, segfault, segmentation fault, gdb, nullpointerexception, panicked, unwrap, borrow checker, mutex, deadlock, goroutine, goroutines, async await, linked list, binary search, hash map, hashmap, big o, time complexity, dict, dataframe, refactor, refactoring, rebase, git, github, gitlab, monorepo, clippy, linter, lint, bcrypt, argon2, sql injection, uuid, datetime, websocket, flexbox, div, cors, localhost, jwt, codebase, unit test, unit tests, pull request, merge conflict, compile, compiler, compiles, compiling, syntax error, runtime error, null pointer, cron, crontab, curl, wget, ssh, bash script, shell script, shell scripts, env var, stdin, stdout, stderr, repl, api endpoint, rest api, http request, post request, get request, json body, bearer token, docker, container image, docker compose, vim, emacs, makefile, cmake, gcc, clang, llvm, x86, assembly language, syscalls, syscall, mnist, epochs, cnn, numpy, sklearn, scikit, celery, redis, kafka, rabbitmq, elasticsearch, nextjs, react, angular, svelte, vue, vuejs, express middleware, spring boot, rails, ruby on rails, chrome extension, android studio, usestate, useeffect, props, npm install, cargo, crate, crates, clap, python script, bash loop, one-liner, one liner, awk, sed, grep, regex pattern, trie, heapq, dijkstra, quicksort, mergesort, bubble sort, recursion, recursive function, memoization, lambda function, closure, closures, decorator, decorators, generics, monad, monads, functor, typeclass, pointer, pointers, nullptr, malloc, free(), struct, structs, enum, enums, async, await, callback, callbacks, iterator, iterators, generator function, vue 3, composition api, gradle, maven, npm err, eresolve, modulenotfounderror, importerror, typeerror, valueerror, keyerror, indexerror, attributeerror, syntaxerror, runtimeerror, js, ts, golang, rustlang
code 3: javascript's, rust, java, ruby, swift, dart, flutter, julia, bash, zsh, shell, linux, unix, function, functions, variable, variables, array, arrays, int, integer, boolean, bool, interface, interfaces, object oriented, oop, inheritance, polymorphism, encapsulation, abstract class, code, coding, programming, programmer, program crashes, debug, debugging, debugger, compile error, runtime, api, apis, endpoint, endpoints, sdk, cli, backend, frontend, database, databases, query, queries, schema, migration, migrations, repository, repo, repos, commit, commits, branch, branches, merge, deploy, deployment, deploying, server, servers, container, containers, pod, pods, microservice, microservices, algorithm, algorithms, data structure, data structures, tuple, tuples, list comprehension, loop, loops, for loop, while loop, thread, threads, multithreading, concurrency, concurrent, race condition, memory leak, stack overflow, error handling, compile time, binary tree, tree traversal, in-order traversal, parse, parser, parsing, tokenizer, lexer, serialize, serializer, deserialize, encoding, utf-8, unicode, csv, json file, xml, dependencies, command line, command-line, ide, github actions, build fails, mocking, fixture, fixtures, assertion, assertions, optimize this, optimise this, rate limiter, webpage, web app, web server, android app, ios app, re-renders, rerenders, custom hook, dom, design pattern, design patterns, observer pattern, singleton, dependency injection, solid principles, type hint, type hints, callable, lazily, lazy load, lazy loading, numpy array, broadcast, regression model, neural network, password hashing, passwords, decryption, timestamp, date string, format on save, formatter, indentation, socket, sockets, tcp, udp, http, nginx config, yaml file, environment variable, ctrl+c, sigint, middleware, status code, bad gateway, profiling, profiler, slow query, explain analyze, inner join, left join, primary key, foreign key, update statement, delete from, orm, pagination, paginate, rest framework, django rest, grpc, protobuf, big file, chunks, filename, filenames, permission denied, sudo, chmod, executable, exe, dll, schema design, database schema, idiomatic, snippet, snippets, boilerplate, syntax, semicolon, bracket, brackets, undefined, null, none value, recursion depth, stack frame, core dumped, heap memory, stack memory, garbage collector, garbage collection, lifetimes, mutable, immutable, reference counting, smart pointer, hashset, flatmap, lambda, lambdas, regexes, pattern matching, match arm, impl, namespace, namespaces, header file, headers, linker, linking, core dump, valgrind, sanitizer, undefined behavior, transmute, raw pointer, concurrency bug, async generators, event loop, settimeout, setimmediate, nexttick, vanilla js, jquery, typescript type, keyof, readonly, record type, enum type, union type, interface vs type, code review, review this function, this function, this code, my code, the code, this script, this query, this regex, this error, the error, error message, error says, fails with, fails to start, returns nan, returns null, returns undefined, returns none, return value, infinite loop, off by one, unit testing, integration test, end-to-end test, ci pipeline, cd pipeline, devops, helm, prometheus, grafana, yaml config, deployment yaml, service yaml, ingress, load balancer, s3 bucket, aws, gcp, azure, lambda functions, serverless, cloudflare, vercel, heroku, ghcr, docker image, build cache, cross compile, m1 mac, arm64, amd64, architecture mismatch
code 2: develop, developer, developers, software, computer science, tech stack, stack, excel formula, spreadsheet formula, column c, row where, copies every row, vs code, epoch, training loop, model training, neural, gpu, cuda, web, highlights all links, links on a page, snake game, pygame, game loop, game server, unity, unreal, godot, sprite, shader, opengl, vulkan, asm, hello world, blink, microcontroller, raspberry pi, sensor, cron expression, every weekday, regular expression, phone numbers like, email address that, palindrome, fibonacci function, factorial, fizzbuzz, reverse a string, sort a, sort an, sorting, dictionary by value, nested list, flatten, merge overlapping, intervals, shuffle, random uuid, data class, data classes, codable, decode, decodes, encode, serialization, text file, read a file, file line by line, line by line, reads json, json lines, prints, print, printf, println, console log, console.log, logging, logger, logs, log file, pods, restarts, crashloopbackoff, oom, oomkilled, out of memory, memory usage, high cpu, 100% cpu, slow to load, load time, page speed, bundle size, minify, tree shaking, babel, vite, rollup, esbuild, prettier, ruff, mypy, flake8, pylint, rustfmt, gofmt, go vet, staticcheck, golangci, benchmarks, benchmark, perf, flamegraph, scalable, handles 10k, requests per second, rps, qps, sharding, replication lag, index scan, vacuum, deadlocks, exception, exceptions, heap, module, modules, dependency, install, installed, installing, terminal, implement, implementation, implementing, cache, caching, latency, throughput, plugin, plugins, macro, macros, dataset, authentication, auth, login, https, config, configuration, env, handler, handlers, cpu, edge case, edge cases, segmentation, unsafe, throws, thrown, trait, traits, generic, replicas, multi-stage, string, strings
code 1.5: write a function, a function that, function that, write a program, write a script, script that, program that, write a class, write a python, write a rust, write a go, write a java, write a sql, write a bash, write a shell, write a c, in python, in rust, in go, in java, in c, in javascript, in typescript, in c++, in ruby, in kotlin, in swift, in php, using python, with python, explain this, what does this do, wrong with my, why does my, my code, my app, my program, my script, my server, my tests, my function, my query, fix this, help me fix, how do i fix, any language, snake_case, camelcase, localhost:5000, localhost:3000, port 8080, 8080, 5432, 3000, class, classes, method, methods, script, scripts, bug, bugs, crash, crashes, mock, render, renders, hook, hooks, browser, port, ports, column, columns, binary, binaries, vector, vectors, borrow, ownership, pr, prs, matrix, matrices, file, files, folder, directory, directories, pipeline, website, websites, app, apps, component, components, timezone, timezones, encrypt, 502, 404, 500, nan, manifest, manifests, image size, cursor, insert
code 1: architecture, performance, speed up, optimize, optimise, execute, works locally, locally, ci, deterministic, output, input, inputs, outputs, object, objects, instance, instances, default value, null check, exit, quit, mac, macos, ubuntu, debian, arch, fedora, android, ios, iphone app, mobile app, automation, automate, bot, scrape, scraper, scraping, crawl, crawler, url, urls, download, upload, email me, send email, smtp, regex101, parse error, invalid, check whether, checks whether, validate, validation, generator, random, uuid4, hash, hashes, hashing, encryption, store passwords, secure, security, vulnerability, vulnerabilities, xss, csrf, injection, sanitize, stack, framework, frameworks, library, libraries, package, packages, import, imports, build, builds, test, tests, testing, type, types, typed, typing, annotations, notebook, token, tokens, session, cookie, process, processes, signal, signals, request, response, memory, profile, table, tables, row, rows, join, joins, select, transaction, transactions, filter, template, templates, promise, promises, raise, raises, alert rule, paths, path, operator, operators, chart, pin, pins, alert, alerts, bundle, extension, monitoring
research 3: who was, who were, who invented, who discovered, who wrote, who painted, who built, who founded, when did, when was, when were, where is, where are, where do, how many, how much does, how far, how long does, how old is, how big, how tall, how deep, what year, what causes, what caused, what happened, what were, history of, the history, historically, century, centuries, ancient, medieval, empire, emperor, dynasty, kingdom, pharaoh, pyramids, war, wars, world war, cold war, battle, revolution, reforms, treaty, colonial, colonization, invasion, invented, invention, discovered, discovery, inventor, scientists, scientific, physics, chemistry, biology, geology, astronomy, planet, planets, moon, sun, solar system, galaxy, universe, black hole, black holes, dark matter, atom, atoms, molecule, molecules, dna, gene, genes, protein, proteins, cell division, mitosis, meiosis, mitochondria, photosynthesis, krebs cycle, evolution, species, fossil, fossils, dinosaur, virus, viruses, bacteria, bacterium, disease, diseases, symptoms, symptom, deficiency, vaccine, vaccines, vaccination, immune system, immune, antibiotics, antibiotic, medication, medicine, drug, doctors, dermatologist, diabetes, anemia, blood pressure, blood sugar, heart rate, cholesterol, vitamin, vitamins, calories, calorie, nutrition, nutrients, metabolism, caffeine, sleep need, pancreas, liver, kidney, organ, organs, brain, neurons, hormone, hormones, inflation, interest rates, central bank, central banks, federal reserve, fed, recession, depression era, gdp, economy, stock market, stocks, bonds, etf, etfs, mutual fund, index fund, ira, roth, 401, mortgage, amortization, credit score, credit card, loan, loans, tax brackets, taxes, llc, s corp, currency, exchange rate, bitcoin transaction, blockchain, population, capital of, country, countries, continent, geography, mountain, mountains, ocean, oceans, river, rivers, lake, desert, deserts, island, islands, volcano, volcanoes, earthquake, earthquakes, plate tectonics, hurricane, hurricanes, typhoon, cyclone, tornado, tides, tide, weather, climate, greenhouse effect, ozone, glacier, coral reef, reef, ecosystem, animals, animal, bees, honey, birds, migratory, octopus, octopuses, chameleons, cats purr, crocodiles, alligators, pythons, reptiles, mammals, insect, insects, visa, visas, schengen, travel to, traveling to, visiting, best time to visit, cost of living, passport, vaccines do i need, language is spoken, spoken in, currency do they use, time zones, capital, tallest, largest, deepest, longest, biggest city, highest, fastest animal, speed of sound, speed of light, boiling point, freezing point, half-life, carbon-14, radioactive, nuclear reactor, fission, fusion, electricity, electric current, magnet, magnetism, gravity, relativity, quantum entanglement, higgs boson, particle, particles, wavelength, light from the sun, northern lights, aurora, sky blue, rainbow, refrigerator, microwave oven, noise-cancelling, noise cancelling, touchscreen, gps, solar panels, wind turbines, jet engine, airplanes, airplane, submarines, submarine, rocket, rockets, satellite, satellites, 3d printer, camera sensor, lithography, computer chips, panama canal, eiffel tower, printing press, magna carta, silk road, dead sea, berlin wall, renaissance, vikings, ottoman, roman empire, rome, romans, greeks, egyptians, aztecs, incas, mongols, french revolution, reign of terror, meiji, soviet, apollo, nasa, pluto, mars, jupiter, comet, telescope, encyclopedia, wikipedia, facts about, definition, define, meaning of the word, word for, etymology, origin of the word, leap years, leap year, jet lag, placebo effect, mandela effect, turing test, coriolis effect, fibonacci sequence, golden ratio, cricket rules, rules of cricket, electoral college, bill become a law, supreme court, constitution, parliament, congress, senate, election, elections, painted, painting, painter, sculpture, composer, symphony, novel about, who wrote the, literature, poet, philosopher who, museum, landmark
research 2: how does, how do, how did, how is, how are, why is, why are, why do, why does, why did, what is, what are, what does, explain how, in simple terms, in plain english, for a beginner, for a complete beginner, briefly, in a nutshell, in a few paragraphs, tell me about, is it true, actually work, what's the difference, compared to, versus, vs, history, science, health, healthy, benefits, risks of, body, human body, adult, adults, teenager, teenagers, children need, blood, heart, bones, skin, eyes, eye, ears, muscles, sleep, diet, fasting, exercise, cardio, fat loss, studies, study, research, researchers, according to, data shows, statistics, percent, average, typical, on average, cost, costs, price, prices, money, bank, banks, finance, financial, invest, investing, investment, investor, savings account, interest, compound interest, retirement account, pension, employer match, lottery, lump sum, annuity, insurance, premium, dividend, dividends, shares, share price, market cap, company profits, economics, economist, supply and demand, opportunity cost, trade, exports, imports, tariff, tariffs, gdp of, travel, trip to, visit, tourist, tourists, flight, flights, airport, city, cities, europe, asia, africa, america, american, united states, us citizen, uk, japan, china, india, russia, germany, france, brazil, canada, australia, mexico, italy, spain, chile, kenya, vietnam, patagonia, switzerland, lisbon, berlin, everest, sahara, amazon river, pacific, atlantic, arctic, antarctica, fish, dog breeds, whales, sharks, plants, trees, flowers, food chain, made of, formed, produce, produced, generate electricity, energy, power, battery, batteries, electric car, engine, engines, fuel, oil, gas prices, coal, nuclear, solar, wind, renewable, carbon, emissions, pollution, recycling, water cycle, ice, float, salt, salty, color, colour, colors, light, sound, heat, temperature, pressure, speed, distance, far away, how long, mass, weight, density, chemical, element, elements, periodic table, acid, reaction, reactions, rays, radiation, x-ray, mri, patients, patient, cancer, tumor, infection, infections, flu, cold virus, covid, pandemic, epidemic, outbreak, spread, spreads, plague, black death, smallpox, polio, fda, approved, approval, clinical, world, earth, global, human, humans, religion, islam, christianity, judaism, hinduism, sunni, shia, bible, quran, church, pope, myth, mythology, legend, folklore, tradition, festival, holiday origin, thanksgiving history, origin of
research 1: understand, learn about, know about, info, information, fact, facts, true, real, really, actually, origin, origins, cause, causes, caused, effect, effects, affect, affects, happen, happens, happened, process, mechanism, system works, used for, used in, use of, example, examples, types of, kinds of, main, important, significance, role of, impact of, influence, famous, first, last, oldest, newest, modern, today, current, currently, right now, this year, per year, each year, worldwide, natural, nature, environment, planet earth, universe's, concept, theory, law, principle, model of, basics, basic, simple, beginner, introduction, overview of, summary of, works, difference between, explain
conversation 5: hi, hello, hey, hiya, howdy, yo, hola, bonjour, good morning, good afternoon, good evening, good night, goodnight, thanks, thank you, thx, ty, cheers, bye, goodbye, see you, lol, lmao, haha, hahaha, rofl, poem, poems, poetry, haiku, limerick, sonnet, acrostic, ode, rap verse, lyrics, tongue twister, riddle, knock knock, joke, jokes, dad joke, pun, puns, bedtime story, fairy tale, short story, story about, a story, fortune cookie, pep talk, roleplay, role-play, role play, pretend to be, pretend you, act as, proofread, wedding toast, a toast, caption, instagram caption, birthday message, thank-you note, thank you note, love letter, valentine, valentine's, sympathy card, condolence, out-of-office, out of office, auto reply, cover letter, grocery list, packing list, shopping list, to-do list, playlist, icebreaker, conversation starters, pick-up line
conversation 4: how's your day, your day
conversation 3: how are you, what's up, whats up, sup, who are you, what are you, are you, do you, do you like, your favorite, you're awesome, you are awesome, awesome, amazing, cool, nice, ok, okay, yes, yeah, yep, nope, sorry, oops, wow, omg, yay, hmm, ugh, meh, :), 😂, 😊, ❤️, bored, lonely, sad, tired, exhausted, stressed, nervous, anxious about, excited, happy, upset, angry, frustrated, feel, feeling, feelings, i feel, i'm feeling, vent, rough day, bad day, great day, my day, today was, birthday, wedding, anniversary, party, surprise party, prom, date night, first date, girlfriend, boyfriend, husband, wife, mom, mother's day, dad, father's day, grandma, grandpa, grandmother, grandfather, son, daughter, kids, kid, toddler, baby, friend, friends, best friend, bestie, coworker, colleague, boss, neighbor, neighbour, landlord, roommate, puppy, kitten, my dog, my cat, pet, pets, golden retriever, dog, cat, gift, gifts, christmas, halloween, costume, easter, new year, holiday, holidays, vacation, weekend, saturday, sunday, tonight, tomorrow, this week, next week, monday, mondays, friday, morning routine, routine, habit, habits, journaling, journal, diary, motivate, motivation, motivational, motivational quote, quote, quotes, encouraging, encouragement, compliment, say something nice, cheer me up, entertain me, fun, funny, hilarious, silly, cute, sweet, lovely, cozy, story, stories, tale, tales, fable, dragon, dragons, princess, unicorn, pirate, pirates, wizard, robot who, once upon, creative, imaginative, write me, write a short, vivid, describe a, dialogue between, script for, radio ad, slogan, tagline, catchy, product description, bio, instagram, tiktok, linkedin post, twitter, tweet, facebook post, text message, text to, a text, message to, reply to, respond to, email to, an email, the email, this email, invite, invitation, invitations, rsvp, note for, letter to, letter for, speech for, toast for, apology, apologize, excuse, excuses, polite, politely, rude, awkward, professional tone, tone, warmer, warm, friendlier, formal, informal, rewrite, rephrase, reword, make this sound, sound more, sound less, shorter, punchier, longer, summarize this, in one sentence, bullet list, turn this into, fix my grammar, grammar, spelling, typo, typos, recipe, recipes, cook, cooking, bake, baking, dinner, lunch, breakfast, brunch, snack, snacks, meal, meals, menu, picnic, tacos, pizza, chicken, rice, spinach, vegetarian, vegan, grocery, groceries, shopping, restaurant, cafe, coffee shop, coffee, tea, wine, beer, cocktail, movie, movies, film, films, show, shows, series, netflix, book, books, read tonight, novel, novels, podcast, podcasts, music, song, songs, upbeat, album, band, quiz, trivia, 20 questions, would you rather, truth or dare, name for, names for, name my, a name, nickname, suggest a, suggest some, recommend a, recommend some, any ideas, ideas for, some ideas, give me ideas, theme for, tips, any tips, quick tips, tricks, advice on, help me decide, help me pick, can't decide, should i watch, what should i, what to do, things to do, fun things, schedule, scheduling, plan my, plan a, planning a, plan for, itinerary, agenda, calendar, appointment, dentist, meeting, meetings, reminder, remind me, timeline for the day, road trip, camping, picnic, hike, hiking, beach, packing, wake up, bedtime, go to bed, nap, gym, workout, work out, marathon, yoga, stretching, procrastinating, procrastination, productive, productivity, focus, studying, exam, interview, job interview, calm down, relax, relaxing, breathing, shy, introvert, small talk, chat, chatting, talk, talking, let's talk, let's chat, let's play, let's do, conversation partner, practice my, qué tal, congratulate, congrats, congratulations, promoted, promotion, new job, first job, retirement party, farewell, moved, moving, new city, new apartment, first apartment, cancel my, membership, gym membership, sick today, i'm sick, day off, be late, running late, excuse to leave, say no, decline, declining, turn down, stapler, laptop died, rain, raining, sunny
conversation 2: write a, write an, card, cards, game, games
conversation 1.5: write, draft, compose, make it, make this, make up, come up with, help me write, help me come up, can you help me, could you help me, please, me, my, i'm, i am, i just, i have, i want, i need, i'd like, i keep, you, your, yourself, something, anything, someone, nice to, good, bad, love, enjoy, favorite, favourite, feel like, want to, going to, gonna, wanna, just, little, bit, a bit, again, instead, the other one, that's not, not what i asked, i meant, earlier, we talked, remember, do it, try again, another one, one more, continue, go on, keep going, sounds good, perfect, got it, understood, makes sense, fair enough, i see, interesting, tell me something, tell me a, fun fact, something interesting, surprise me, team, partner, family, play, playing, leaving
conversation 1: great
complex 5: analyze, analyse, analyzing, analysing, analysis, critically, critique, critically assess, in-depth, in depth, deeply analyze, rigorous, rigorously, rigorous answer, thorough analysis, thoroughly, systematically, strategic analysis, decision framework, framework for deciding, second-order, second- and third-order, trade-offs, tradeoffs, trade offs, weigh the, weighing, reason carefully, reason through, think through, think step by step, step by step, show the derivation, derivation, prove that, proof, prove, theorem, theorems, incompleteness, undecidable, halting problem, p vs np, philosophical, philosophy of, epistemology, metaphysics, ontology, utilitarianism, consequentialist, consequentialism, deontology, categorical imperative, veil of ignorance, rawls, problem of evil, theodicies, theodicy, free will, determinism, personal identity, ship of theseus, chinese room, searle, bostrom, simulation argument, trilemma, repugnant conclusion, trolley problem, monty hall, prisoner's dilemma, game theory, nash equilibrium, equilibrium, arrow's impossibility, impossibility theorem, black-scholes, efficient market hypothesis, middle-income trap, falsifiable, falsifiability, measurement problem, decoherence, foundations of, epicurus, moral status, morally permissible, permissible, meritocracy, coherent
complex 3: evaluate, evaluating, evaluation, assess, assessing, assessment, examine, examining, dissect, scrutinize, implications, implication, imply, implies, consequences, ramifications, long-term, long term, long run, over the next decade, next 20 years, through 2050, by 2070, over a decade, next decade, 15 years, strategy, strategic, strategically, strategies, scenario, scenarios, viability, viable, feasibility, feasible, sustainable, sustainability, governance, policy, policies, reform, reforms, restructure, restructuring, framework, develop a framework, build a decision, decision, decide between, deciding, dilemma, help me think, help me reason, help me structure, think about this, how should i think, how should a, how should we, should we, rationally, rational, reasoning, reasoned conclusion, argument, arguments for why, construct, construct a, strongest argument, strongest case, build the case, objections, justify, justified, defensible, ethics, ethical, ethically, moral, morality, morals, immoral, justice, fairness, fair, equity, autonomy, consent, rights, responsibility, obligation, duty, virtue, meaning of life, consciousness, conscious, mind, minds, understand language, simulate, existence, reality, truth, knowledge, belief, beliefs, false things, rational to, fear death, mortality, identity, soul, paradox, thought experiment, hypothetical, counterfactual, what would happen, what would a, realistic path, path to, net-zero, net zero, decarbonization, geoengineering, aerosol injection, climate policy, carbon tax, universal basic income, ubi, rent control, wealth, inequality, demographic, demographics, demographic decline, aging population, pensions, social security, productivity growth, degrowth, decoupling, geopolitics, geopolitical, deterrence, nuclear deterrence, belt and road, supply chains, supply chain, global economy, reserve currency, exchange rate regime, fixed and a floating, monetary policy, fiscal, deficit, bubble, bubbles, collapse, collapsed, fall of, rise of, causal, causation, correlation, evidence, the evidence, what does the evidence, hypotheses, hypothesis, competing hypotheses, explanations, mattered most, lessons, analogy, analogies, break down, breakdown, diagnose, bottleneck, bottlenecks, root cause, root causes, systemic, systemic failures, failures, failure modes, risk assessment, mitigation, safeguards, alignment, aligned, ai safety, superintelligence, capable than humans, governance structures, autonomous weapons, meaningful human control, surveillance, privacy, facial recognition, public safety, civil liberties, rationing, ration, triage, icu, allocation, runway, mrr, burn rate, raise now, fundraising, valuation, profitability, profit, profits, revenue, margins, margin, unit economics, market share, competitive, competition, competitors, expansion, expand, expanding, expand into, enter the market, go-to-market, localization, build or buy, acquire, acquisition, merger, manufacturing, reshoring, nearshoring, logistics, operational, operations, organizational, incentives, incentive, compensation structure, compensation, org, headcount, hiring freeze, missing deadlines, recovery strategy, strategic plan, plan covering, priorities, prioritize, roadmap, curriculum, critical thinking, justify the choices, financial statements, diagnose which, plateaued, sales have, donations, nonprofit, startup has, our startup, our company, our hospital, our org, our nonprofit, our engineering, a company's, a city, small city, coastal cities, sea walls, managed retreat, subway line, public services, infrastructure, budget, taxpayers, voters, voting system, voting systems, election design, savings rate, retire at, income replacement, real return, show the math, walk through the math, the math, derive, solve, solve this, real x, all real, integer solutions, find all, equation, equations, probability, probabilities, bayes, base rate, false positive, expected value, optimal, optimization problem, generalize, generalise, irrational, infinitely many, primes, prime numbers, square root, sqrt, twin primes, inductive, induction, deduce, deduction, logic puzzle, widgets, machines make, general principle, and why, how would you, to what extent, reconcile, unresolved, open problems, emergent, compare and contrast, where you land, where do you land, the strongest, explain your reasoning, your reasoning, each step, explain each step, third-order, red flags
complex 1.5: why did, why has, why have, why do smart, why is the, how would you evaluate, how likely, likely, likelihood, whether, given, considering, consider, taking into account, account for, factors, factor, weigh, weighs, balance, balancing, against, versus the, compared with, relative to, detailed, detail, comprehensive, careful, carefully, depth, deep, deeper, serious, hard, difficult, challenging, complicated, nuanced, subtle, fundamental, fundamentally, underlying, structural, structure of, dynamics, forces, drivers, mechanism, mechanisms, predict, prediction, forecast, projection, estimate, future, outcome, outcomes, impact, effects, effect on, affect the, interact, interaction, interplay, society, social, societal, political, politics, economic, economical, cultural, institutional, institutions, government, governments, nation, nations, countries', developing country, developed economies, global, international, world order, humanity, civilization, humans', human nature, psychology, behavioral, cognitive, bias, biases, fallacy, argue, arguing, claim, claims, assumption, assumptions, premise, premises, conclusion, conclusions, critique of, criticism, limits, limitations, trade-off, tradeoff, options, alternatives, choice, choices, job offers, offers, career, careers, finances, savings, mortgage at, invest in index, pay down, aggressively, chronic illness, treatment options, complication risk, side effects, success rate, dementia, care home, move him, siblings disagree, second child, leave my, quit my, start a bakery, my elderly, growth, debt, crisis, crises, decline, risks, risk, and what, differently
complex 1: should
multi 6: perspectives, viewpoints, points of view, different perspectives, multiple perspectives, diverse perspectives, various perspectives, range of perspectives, several perspectives, multiple viewpoints, different viewpoints, different opinions, several opinions, various opinions, multiple opinions, contrasting opinions, opposing opinions, conflicting advice, second opinion, both sides, each side, all sides, either side, for and against, pro and a con, from the perspective of, from the perspectives of, from each, from different, point of view, several models, multiple models, different models, several ai models, few different models, ask a few, ask several, let multiple, multiple angles, different angles, several angles, many angles, debate, debates, devil's advocate, panel discussion, a panel, schools of thought, different schools, major schools, main schools, competing theories, competing views, competing interpretations, main competing, different interpretations, scholarly interpretations, interpretations of, supporters and critics, critics say, supporters say, proponents, opponents, camps, main camps, each camp, different camps, ideological camps, several independent, independent answers, different takes, contrasting takes, few different takes, several different, get multiple, multiple answers, hear from, i want to hear, hear different, weigh in, each say, each view, each explain, each describe, each judge, each approach, each narrate, the views of, views of, viewpoint, perspective, opinions, opposing, contrasting, contrast how, different stakeholders, stakeholders, optimists, pessimists, doomers, skeptics, conservatives and progressives, progressives, conservatives, republicans, democrats, left and the right, on the left, ideological, different generations, generations, different cultures, cultures, different religions, religions, different countries, various world, various legal, different political, political philosophies, different ethical, ethical frameworks, different experts, experts disagree, historians disagree, scientists disagree, disagree about, various positions, argue both, arguments on each, both for and against, argue the opposite, balanced overview
multi 4: how would a
multi 3: disagree, disagreement, differ, differ in, differ on, portray, and a con
multi 2: various, several, multiple, diverse, contrasting views, compare the perspectives, compare the viewpoints, compare how, how do different, what do different, how do the major, experts, economists, historians, scholars, scientists, philosophers, doctors, lawyers, teachers, parents and students, landlords and tenants, farmers, environmentalists, consumers, employers, employees, governments, optimist, pessimist, a skeptic, a vc, a customer, a mechanic, an environmentalist, a commuter, a doctor, a nutritionist, a trainer, a historian, an economist, a sociologist, a lawyer, an ethicist, an engineer, a designer, a product manager, a marxist, a feminist, a critic, keynesian, monetarist, austrian, plato, nietzsche, beauvoir, compatibilists, libertarians, hard determinists, buddhism, stoicism, christianity, secular, humanist, behaviorist, psychoanalytic, humanistic, liberalism, socialism, libertarianism, common law, civil law, boomer, millennial, gen z, israelis, palestinians, frameworks, camp, sides, versus each, agree, agreement, controversy, controversial, contested, divided, argue, arguments, argument, say about, think about, views, take on, opinion, thoughts on, positions
multi 1.5: different
multi 1: each
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_phrases_hash_like_the_scanner() {
        let lex = get();
        assert!(lex.len() > 1000, "{}", lex.len());
        assert!(lex.entries.contains_key(&hash_word("python")));
        let phrase = combine(
            combine(hash_word("point"), hash_word("of")),
            hash_word("view"),
        );
        assert!(lex.entries.contains_key(&phrase));
        let cpp = fnv_step(hash_word("c"), b'+');
        assert!(lex.entries.contains_key(&cpp));
    }
}
