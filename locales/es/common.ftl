# Textos comunes de las páginas y correos dirigidos a los interesados (véase locales/en).

## Fechas.
date-long = {$day} de {$month} de {$year}
date-time = {$date}, {$time}
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre

## Lo que pidió el interesado («su solicitud de …», «Lo que solicitó: …»).
kind-label-access = una copia de sus datos personales
kind-label-portability = sus datos personales en un formato portable
kind-label-erasure = supresión de sus datos personales
kind-label-rectification = rectificación de sus datos personales
kind-label-restriction = limitación del tratamiento de sus datos personales
kind-label-objection = fin del tratamiento de sus datos personales (oposición)
kind-label-opt_out_sale = fin de la venta y el intercambio de su información personal (exclusión voluntaria)
kind-label-limit_sensitive = un límite al uso de su información personal sensible
kind-label-opt_in = retirada de su exclusión voluntaria
kind-label-appeal = revisión de nuestra decisión de rechazar su solicitud anterior (recurso)

## Las opciones del formulario.
kind-choice-access = Envíenme una copia de mis datos
kind-choice-portability = Envíenme mis datos en un formato portable
kind-choice-erasure = Supriman mis datos
kind-choice-rectification = Corrijan mis datos
kind-choice-restriction = Limiten el uso de mis datos
kind-choice-objection = Dejen de usar mis datos (oposición, p. ej. a la publicidad)
kind-choice-opt_out_sale = No vendan ni compartan mi información personal (exclusión voluntaria, incl. publicidad dirigida)
kind-choice-limit_sensitive = Limiten el uso de mi información personal sensible

## Los estados de la página de seguimiento.
status-awaiting_verification = Esperando a que confirme su dirección de correo electrónico
status-open = Recibida y confirmada; pendiente de tramitación
status-in_progress = En tramitación
status-review = En revisión antes de nuestra respuesta
status-on_hold = En pausa
status-completed = Completada
status-denied = Denegada
status-withdrawn = Retirada
status-expired = Caducada porque la dirección de correo electrónico nunca se confirmó
status-agent-awaiting = Esperando a que la persona a la que representa confirme la solicitud

## Por qué se denegó una solicitud (tras «Motivo:»).
deny-reason-insufficient_verification = no pudimos confirmar que la solicitud la hiciera la persona a la que se refieren los datos
deny-reason-no_match = no tenemos datos personales que coincidan con la información que nos facilitó
deny-reason-manifestly_unfounded = la solicitud es manifiestamente infundada
deny-reason-excessive = la solicitud es excesiva, en particular porque repite una solicitud anterior
deny-reason-legal_exemption = a los datos en cuestión se les aplica una excepción legal
deny-reason-outside_jurisdiction = la ley de protección de datos que invoca no se aplica a este tratamiento
deny-reason-other = véase la explicación más abajo
deny-reason-duplicate = repite una solicitud suya que ya estamos tramitando; le responderemos en ella
complaint-authority-default = la autoridad de control de protección de datos del lugar donde vive o trabaja

## El historial de una solicitud en la página de seguimiento.
history-submit = Recibimos su solicitud.
history-verify = Usted confirmó su dirección de correo electrónico.
history-start = Empezamos a tramitar su solicitud.
history-tasks_done = Terminamos de buscar en nuestros sistemas y estamos revisando el resultado.
history-hold = Su solicitud quedó en pausa.
history-resume = Se reanudó la tramitación de su solicitud.
history-extend = Ampliamos el plazo; le escribimos para explicarle el motivo.
history-complete = Su solicitud se completó.
history-deny = No pudimos atender su solicitud; le escribimos para explicarle el motivo.
history-withdraw = La solicitud se retiró.
history-export_link = Le enviamos un nuevo enlace para descargar sus datos.
history-corrections = Relacionamos las correcciones que pidió con los datos que tenemos.
history-rerun = Volvimos a tramitar su solicitud.
history-own_copies_deleted = También suprimimos las copias de sus datos que conservábamos de sus solicitudes anteriores.
history-lift_restriction = Levantamos la limitación del tratamiento; antes le escribimos para explicarle el motivo.
history-expire = La solicitud caducó porque la dirección de correo electrónico no se confirmó.
history-recipients_notified = Informamos de su solicitud a quienes recibieron sus datos de nuestra parte.
history-appealed = Usted recurrió nuestra decisión; su recurso tiene su propia referencia y página de seguimiento.
history-decide = Resolvimos su recurso; le escribimos con la decisión y nuestros motivos.
history-reopen = Su recurso prosperó: estamos tramitando de nuevo su solicitud.
history-regime = Cambiamos la ley conforme a la cual se tramita su solicitud; se recalculó la fecha de nuestra respuesta.
history-objection_withdrawn = Usted retiró su oposición; lo quitamos de nuestra lista de exclusión.
history-opted_in = Se retiró su exclusión voluntaria; lo quitamos de nuestra lista de exclusión para ella.
history-question = Le pedimos información.
history-message = Le enviamos un mensaje.
history-subject_reply = Usted nos respondió.
history-agent = Un representante autorizado envió la solicitud en su nombre.
history-agent_consent = Usted aceptó que su representante reciba nuestra respuesta.
history-agent_poa_accepted = Aceptamos el poder de su representante autorizado.
history-other = Su solicitud se actualizó.

## El mismo historial, para un representante autorizado.
agent-history-submit = Recibimos la solicitud.
agent-history-agent = Lo registramos como representante autorizado de la persona.
agent-history-verify = La persona confirmó la solicitud.
agent-history-start = Empezamos a tramitar la solicitud.
agent-history-tasks_done = Terminamos de buscar en nuestros sistemas y estamos revisando el resultado.
agent-history-hold = La solicitud quedó en pausa.
agent-history-resume = Se reanudó la tramitación de la solicitud.
agent-history-extend = Ampliamos el plazo y le explicamos el motivo a la persona.
agent-history-complete = La solicitud se completó; respondimos directamente a la persona.
agent-history-deny = No pudimos atender la solicitud; le explicamos el motivo a la persona.
agent-history-withdraw = La solicitud se retiró.
agent-history-expire = La solicitud caducó porque la persona no la confirmó.
agent-history-agent_consent = La persona aceptó que usted reciba nuestra respuesta.
agent-history-agent_poa_accepted = Aceptamos su poder.
agent-history-other = La solicitud se actualizó.

## Lo que se hizo en un sistema, y por tabla en una supresión.
records = {$count ->
    [one] {$count} registro
   *[other] {$count} registros
}
outcome-why = Por qué:
outcome-skipped = omitido, no se cambió nada: {$reason}
outcome-skipped-default = no hay nada declarado para esto
outcome-not-done = no realizado: la operación no se completó en este sistema
outcome-in-progress = todavía en curso
outcome-done = realizado
outcome-confirmed = realizado, confirmado por la persona responsable de este sistema
outcome-access-none = búsqueda realizada; no se encontró nada sobre usted
outcome-access-found = búsqueda realizada; {$records} sobre usted encontrados e incluidos
outcome-access = búsqueda realizada
outcome-erase-none = búsqueda realizada; no se encontró nada sobre usted que suprimir
outcome-erased = suprimido
outcome-rectify-part = {$fields} corregido en {$table} ({$records})
outcome-rectify-none = no se encontró ningún registro sobre usted que corregir
outcome-rectified = corregido
outcome-marked-none = aquí no se encontró ningún registro sobre usted ({$what}: ninguno)
outcome-marked = {$what} ({$records} marcados)
outcome-what-restrict = tratamiento limitado
outcome-what-object = su oposición registrada
outcome-what-lift = limitación levantada
outcome-what-opt_out = su exclusión voluntaria de la venta y el intercambio registrada
outcome-what-opt_in = su exclusión voluntaria retirada
outcome-what-limit_sensitive = el límite al uso de sus datos sensibles registrado
table-still-found = {$records} encontrados todavía tras la supresión
table-kept = {$records} conservados
table-anonymised = {$records} anonimizados: se eliminó lo que le identifica y se conservó el resto
table-kept-unchanged = {$records} conservados sin cambios
table-deleted-kept = {$deleted} suprimidos, {$kept} conservados
table-deleted = {$records} suprimidos
table-not-found = no se encontró nada sobre usted
reason-still-found = la comprobación posterior a la supresión todavía los encontró; lo estamos investigando
reason-none-recorded = no se registró ningún motivo
reason-anonymised = los registros son necesarios sin los datos que le identifican
reason-shared = se comparten con registros de otras personas
reason-partly-kept = los registros conservados se comparten con registros de otras personas o con registros que debemos conservar
reason-kept = se comparten con registros de otras personas o con registros que debemos conservar
summary-deleted = {$records} suprimidos
summary-anonymised = {$records} anonimizados
summary-kept = {$records} conservados
summary-still-found = {$records} encontrados todavía
summary-per-table = {$parts}; por tabla:

## Quién recibió los datos (art. 19 RGPD), tras el nombre del destinatario.
recipient-purpose = , para {$purpose}
recipient-transfer = ; transferencia fuera del EEE: {$transfer}
recipient-told = . Le hemos informado de su solicitud.
recipients-none = Nuestro registro de actividades de tratamiento no menciona a nadie que haya recibido sus datos personales.

## Tamaños de archivo.
size-mb = {$size} MB
size-kb = {$size} KB
size-bytes = {$size} bytes

## Un plazo («en un plazo de 45 días»).
period-day = {$count ->
    [one] {$count} día
   *[other] {$count} días
}
period-month = {$count ->
    [one] {$count} mes
   *[other] {$count} meses
}
period-business-day = {$count ->
    [one] {$count} día hábil
   *[other] {$count} días hábiles
}
