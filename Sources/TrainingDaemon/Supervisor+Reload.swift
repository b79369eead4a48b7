import Foundation
import TrainingConfig
import TrainingCore
import TrainingObjectStore

/// A configuration reload (SIGHUP): the reloadable keys take effect for what happens next;
/// running jobs keep the settings they started with, except the grace period of a later stop.
extension Supervisor {
    func applyReload(_ reloaded: DaemonConfiguration, site newSite: SiteCatalog, locations newLocations: ObjectLocations) {
        dispatchPrecondition(condition: .onQueue(queue))
        configuration = reloaded
        site = newSite
        locations = newLocations
        validator = DefinitionValidator(site: newSite)
        capacity = reloaded.maxConcurrentJobs ?? cpuCount
        let policy = Self.schedulingPolicy(reloaded, slots: capacity)
        waiting.with { $0.policy = policy }
        schedule()
    }
}
