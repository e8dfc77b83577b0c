public import SyncCore
