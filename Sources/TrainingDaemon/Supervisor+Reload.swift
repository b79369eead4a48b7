import Foundation
import TrainingConfig
import TrainingCore

/// A configuration reload (SIGHUP): the reloadable keys take effect for what happens next;
/// running jobs keep the settings they started with, except the grace period of a later stop.
extension Supervisor {
    func applyReload(_ reloaded: DaemonConfiguration, site newSite: SiteCatalog) {
        dispatchPrecondition(condition: .onQueue(queue))
        configuration = reloaded
        site = newSite
        locations = (try? reloaded.objectLocations()) ?? locations
        validator = DefinitionValidator(site: newSite)
        capacity = reloaded.maxConcurrentJobs ?? cpuCount
        schedule()
    }
}
