// Reads a JSON array of cases {"year", "activity" ("craft"|"trade"), "income" (euros, number)} on stdin
// and prints, for each, the self-employed items as URSSAF's publicodes rules (modele-social) compute
// them, in euros. Used by tests/oracle/test_publicodes_self_employed.py.
import Engine from 'publicodes'
import rules from 'modele-social'

const PREFIX = 'dirigeant . indépendant . cotisations et contributions . '
const ITEMS = {
  health: 'maladie',
  health_scale_total: 'maladie . total',
  daily_allowances: 'indemnités journalières maladie',
  basic_pension: 'retraite de base',
  complementary_pension: 'retraite complémentaire',
  invalidity_death: 'invalidité et décès',
  family_allowances: 'allocations familiales',
  csg_deductible: 'CSG-CRDS . déductible',
  csg_non_deductible_and_crds: 'CSG-CRDS . non déductible',
  vocational_training: 'formation professionnelle',
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const engine = new Engine(rules, { logger: { log() {}, warn() {}, error() {} } })
const results = cases.map(({ year, activity, income }) => {
  engine.setSituation({
    date: `'01/01/${year}'`,
    'entreprise . catégorie juridique': "'EI'",
    'entreprise . catégorie juridique . EI . auto-entrepreneur': 'non',
    'entreprise . imposition': "'IR'",
    'entreprise . activité . nature': activity === 'craft' ? "'artisanale'" : "'commerciale'",
    'entreprise . date de création': `'01/01/${year - 5}'`,
    'dirigeant . indépendant . revenu professionnel': `${income} €/an`,
  })
  const out = {}
  for (const [key, rule] of Object.entries(ITEMS)) {
    out[key] = engine.evaluate({ valeur: PREFIX + rule, unité: '€/an' }).nodeValue ?? 0
  }
  return out
})
process.stdout.write(JSON.stringify(results))
