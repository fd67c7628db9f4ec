// Reads {policies, principal, simulations} as JSON on stdin and prints one verdict per simulation as JSON.
// Each simulation names the identity policies and the SCP levels (a list of lists, or null when the
// account is outside an organization) to use from `policies`.
import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { policies, principal, simulations } = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const accountOf = (arn) => arn.split(':')[4]
const named = (names) => names.map((name) => ({ name, policy: policies[name] }))

const results = []
for (const sim of simulations) {
  const response = await runSimulation(
    {
      request: {
        principal,
        action: sim.action,
        resource: { resource: sim.resource, accountId: accountOf(sim.resource) },
        contextVariables: sim.context
      },
      identityPolicies: named(sim.identity),
      // Our "no organization" is an empty list: iam-simulate then evaluates no SCPs at all.
      serviceControlPolicies: (sim.scps ?? []).map((level, i) => ({
        orgIdentifier: `level-${i + 1}`,
        policies: named(level)
      })),
      resourceControlPolicies: []
    },
    {}
  )
  if (response.resultType === 'error') {
    results.push({ id: sim.id, error: response.errors })
    continue
  }
  const result = response.resultType === 'single' ? response.result : response.results[0]
  const denials = getDenialReasons(result.analysis)
  results.push({
    id: sim.id,
    verdict: response.overallResult,
    explicitDenies: denials.filter((d) => d.denialType === 'Explicit').map((d) => d.statementId),
    ignoredContextKeys: result.ignoredContextKeys ?? []
  })
}
process.stdout.write(JSON.stringify(results))
