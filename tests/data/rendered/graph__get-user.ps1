# pswrap-step: graph/get-user
param(
    [string]$UserId
)
Set-StrictMode -Version 2 -ErrorAction Stop
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Get-PswrapProperty {
    # Reads a property that may be absent: under Set-StrictMode a missing property is an error.
    # The leading comma keeps a collection whole instead of unrolling it into the pipeline.
    param([AllowNull()] $InputObject, [string] $Name)
    if ($null -eq $InputObject) { return $null }
    if ($InputObject -is [System.Collections.IDictionary]) {
        # Through Keys, not .Contains(): a generic Dictionary (Graph's AdditionalProperties) implements
        # IDictionary.Contains explicitly, and Windows PowerShell 5.1 does not find it by name.
        foreach ($key in @($InputObject.Keys)) {
            if ([string]$key -eq $Name) { return ,$InputObject[$key] }
        }
        return $null
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return ,$property.Value
}

function ConvertTo-PswrapList {
    # A list that stays a list in JSON: $null is empty, one item is a one-item list.
    # List[object] carries no extended members, so Windows PowerShell 5.1's ConvertTo-Json writes it
    # as a plain array (a PSObject-wrapped array would come out as {"value":[...],"Count":n}).
    param([AllowNull()] $Value)
    $list = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    if ($null -eq $Value) { return ,$list }
    if ($Value -is [string] -or $Value -is [System.Collections.IDictionary] -or
        $Value -isnot [System.Collections.IEnumerable]) {
        $list.Add($Value)
        return ,$list
    }
    foreach ($item in $Value) { $list.Add($item) }
    return ,$list
}

function ConvertTo-PswrapValue {
    # Shapes a value by the emitter rules (docs/design.md): GUIDs as strings, dates as ISO 8601 in UTC,
    # byte arrays as base64, enums by name, collections as lists, dictionaries key by key.
    param([AllowNull()] $Value)
    if ($null -eq $Value) { return $null }
    # The casts drop any PSObject wrapper: Windows PowerShell 5.1's ConvertTo-Json writes a wrapped
    # string's extended properties (e.g. Get-Content's PSPath) as an object instead of the string.
    if ($Value -is [string]) { return [string]$Value }
    if ($Value -is [bool]) { return [bool]$Value }
    if ($Value -is [guid]) { return $Value.ToString() }
    if ($Value -is [datetime]) {
        # A Kind of Unspecified is taken as UTC: the ADSync and Graph values pswrap reads are UTC.
        if ($Value.Kind -eq [System.DateTimeKind]::Local) { $Value = $Value.ToUniversalTime() }
        else { $Value = [datetime]::SpecifyKind($Value, [System.DateTimeKind]::Utc) }
        return $Value.ToString('o')
    }
    if ($Value -is [System.DateTimeOffset]) { return $Value.UtcDateTime.ToString('o') }
    if ($Value -is [byte[]]) { return [System.Convert]::ToBase64String($Value) }
    if ($Value -is [System.Enum]) { return $Value.ToString() }
    if ($Value -is [System.TimeSpan]) { return $Value.ToString() }
    if ($Value -is [System.ValueType]) { return $Value }
    if ($Value -is [System.Collections.IDictionary]) {
        $shaped = [ordered]@{}
        foreach ($key in @($Value.Keys)) { $shaped[[string]$key] = ConvertTo-PswrapValue $Value[$key] }
        return $shaped
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        $list = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
        foreach ($item in $Value) { $list.Add((ConvertTo-PswrapValue $item)) }
        return ,$list
    }
    return [string]$Value
}

function Write-PswrapResult {
    # The one JSON document a pswrap step writes to the output stream; its keys are the step's model fields.
    param([System.Collections.IDictionary] $Result)
    $document = ConvertTo-PswrapValue $Result
    $json = ConvertTo-Json -InputObject $document -Depth 16 -Compress -ErrorAction Stop
    Write-Output -InputObject $json -ErrorAction Stop
}
Import-Module Microsoft.Graph.Users -ErrorAction Stop

# These are returned only when selected (docs/sources.md section 1.5).
$cloudUserProperties = [string[]]@('Id', 'UserPrincipalName', 'DisplayName', 'Mail', 'OnPremisesImmutableId', 'OnPremisesSyncEnabled', 'OnPremisesLastSyncDateTime', 'ProxyAddresses', 'OnPremisesProvisioningErrors', 'AccountEnabled')

function Get-PswrapDirectoryRoles {
    # The directory (admin) roles among the user's memberships: matching skips admins (docs/sources.md section 3).
    param([string]$UserObjectId)
    $roles = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    foreach ($membership in @(Get-MgUserMemberOf -UserId $UserObjectId -All -ErrorAction Stop)) {
        $extra = Get-PswrapProperty $membership 'AdditionalProperties'
        if ([string](Get-PswrapProperty $extra '@odata.type') -eq '#microsoft.graph.directoryRole') {
            $roles.Add([string](Get-PswrapProperty $extra 'displayName'))
        }
    }
    return ,$roles
}

function ConvertTo-PswrapRoleAssignment {
    param($Assignment, [string]$Status)
    return [ordered]@{
        role = [string](Get-PswrapProperty (Get-PswrapProperty $Assignment 'RoleDefinition') 'DisplayName')
        directory_scope_id = [string](Get-PswrapProperty $Assignment 'DirectoryScopeId')
        status = $Status
    }
}

function Get-PswrapRoleAssignments {
    # Every role the user holds or may activate: active assignments at any scope ('/' or
    # '/administrativeUnits/<id>') and PIM-eligible ones. MC1262584 blocks hard match to role holders
    # without naming roles or scopes; pswrap treats all of these as blocking (docs/sync.md).
    param([string]$UserObjectId)
    Import-Module Microsoft.Graph.Identity.Governance -ErrorAction Stop
    # The id came from Graph; the cast guarantees the filter holds a GUID and nothing else.
    $filter = "principalId eq '" + [string]([guid]$UserObjectId) + "'"
    $assignments = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    foreach ($active in @(Get-MgRoleManagementDirectoryRoleAssignment -Filter $filter -ExpandProperty 'roleDefinition' -All -ErrorAction Stop)) {
        $assignments.Add((ConvertTo-PswrapRoleAssignment $active 'active'))
    }
    foreach ($eligible in @(Get-MgRoleManagementDirectoryRoleEligibilitySchedule -Filter $filter -ExpandProperty 'roleDefinition' -All -ErrorAction Stop)) {
        $assignments.Add((ConvertTo-PswrapRoleAssignment $eligible 'eligible'))
    }
    return ,$assignments
}

function ConvertTo-PswrapProvisioningErrors {
    # Duplicate attribute resiliency's record of a quarantined UPN or proxyAddress (docs/sync.md).
    param($User)
    $errors = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    foreach ($item in (ConvertTo-PswrapList (Get-PswrapProperty $User 'OnPremisesProvisioningErrors'))) {
        $errors.Add([ordered]@{
            category = [string](Get-PswrapProperty $item 'Category')
            property_causing_error = [string](Get-PswrapProperty $item 'PropertyCausingError')
            value = [string](Get-PswrapProperty $item 'Value')
            occurred_date_time = Get-PswrapProperty $item 'OccurredDateTime'
        })
    }
    return ,$errors
}

function ConvertTo-PswrapCloudUser {
    param($User)
    return [ordered]@{
        id = Get-PswrapProperty $User 'Id'
        user_principal_name = Get-PswrapProperty $User 'UserPrincipalName'
        display_name = Get-PswrapProperty $User 'DisplayName'
        mail = Get-PswrapProperty $User 'Mail'
        on_premises_immutable_id = Get-PswrapProperty $User 'OnPremisesImmutableId'
        on_premises_sync_enabled = Get-PswrapProperty $User 'OnPremisesSyncEnabled'
        on_premises_last_sync_date_time = Get-PswrapProperty $User 'OnPremisesLastSyncDateTime'
        proxy_addresses = ConvertTo-PswrapList (Get-PswrapProperty $User 'ProxyAddresses')
        directory_roles = Get-PswrapDirectoryRoles ([string](Get-PswrapProperty $User 'Id'))
        role_assignments = Get-PswrapRoleAssignments ([string](Get-PswrapProperty $User 'Id'))
        on_premises_provisioning_errors = ConvertTo-PswrapProvisioningErrors $User
        account_enabled = Get-PswrapProperty $User 'AccountEnabled'
    }
}

$user = $null
try {
    $user = Get-MgUser -UserId $UserId -Property $cloudUserProperties -ErrorAction Stop
} catch {
    # Not found is an answer: Graph's Request_ResourceNotFound (docs/sources.md 7b item 11).
    $notFound = ([string]$_.FullyQualifiedErrorId -like 'Request_ResourceNotFound*' -or
        [string]$_.Exception.Message -match 'Request_ResourceNotFound')
    if (-not $notFound) { throw }
}

if ($null -eq $user) {
    Write-PswrapResult ([ordered]@{ found = $false; user = $null })
} else {
    Write-PswrapResult ([ordered]@{ found = $true; user = (ConvertTo-PswrapCloudUser $user) })
}
