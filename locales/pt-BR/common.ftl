# Textos comuns das páginas e e-mails para os titulares dos dados (veja locales/en).

## Datas.
date-long = {$day} de {$month} de {$year}
date-time = {$date}, às {$time}
month-1 = janeiro
month-2 = fevereiro
month-3 = março
month-4 = abril
month-5 = maio
month-6 = junho
month-7 = julho
month-8 = agosto
month-9 = setembro
month-10 = outubro
month-11 = novembro
month-12 = dezembro

## O que o titular pediu («sua solicitação de …», «O que você pediu: …»).
kind-label-access = cópia dos seus dados pessoais
kind-label-portability = seus dados pessoais em formato portável
kind-label-erasure = exclusão dos seus dados pessoais
kind-label-rectification = correção dos seus dados pessoais
kind-label-restriction = restrição do tratamento dos seus dados pessoais
kind-label-objection = fim do tratamento dos seus dados pessoais (oposição)
kind-label-opt_out_sale = fim da venda e do compartilhamento das suas informações pessoais (opt-out)
kind-label-limit_sensitive = limitação do uso das suas informações pessoais sensíveis
kind-label-opt_in = cancelamento do seu opt-out
kind-label-appeal = revisão da nossa decisão de recusar sua solicitação anterior (recurso)

## As opções do formulário.
kind-choice-access = Envie-me uma cópia dos meus dados
kind-choice-portability = Envie-me meus dados em formato portável
kind-choice-erasure = Exclua meus dados
kind-choice-rectification = Corrija meus dados
kind-choice-restriction = Restrinja o uso dos meus dados
kind-choice-objection = Pare de usar meus dados (oposição, p. ex. a marketing)
kind-choice-opt_out_sale = Não venda nem compartilhe minhas informações pessoais (opt-out, incl. publicidade direcionada)
kind-choice-limit_sensitive = Limite o uso das minhas informações pessoais sensíveis

## Os status exibidos na página de acompanhamento.
status-awaiting_verification = Aguardando você confirmar seu endereço de e-mail
status-open = Recebida e confirmada; aguardando atendimento
status-in_progress = Em andamento
status-review = Em revisão antes da nossa resposta
status-on_hold = Em espera
status-completed = Concluída
status-denied = Recusada
status-withdrawn = Retirada
status-expired = Expirada porque o endereço de e-mail nunca foi confirmado
status-agent-awaiting = Aguardando a pessoa que você representa confirmar a solicitação

## Por que uma solicitação foi recusada (após «Motivo:»).
deny-reason-insufficient_verification = não conseguimos confirmar que a solicitação foi feita pela pessoa a quem os dados se referem
deny-reason-no_match = não temos dados pessoais que correspondam às informações que você forneceu
deny-reason-manifestly_unfounded = a solicitação é manifestamente infundada
deny-reason-excessive = a solicitação é excessiva, em especial porque repete uma solicitação anterior
deny-reason-legal_exemption = uma exceção legal se aplica aos dados em questão
deny-reason-outside_jurisdiction = a lei de proteção de dados que você invocou não se aplica a este tratamento
deny-reason-other = veja a explicação abaixo
deny-reason-duplicate = ela repete uma solicitação sua que já estamos atendendo; responderemos a você por ela
complaint-authority-default = a autoridade de proteção de dados do local onde você mora ou trabalha

## O histórico de uma solicitação na página de acompanhamento.
history-submit = Recebemos sua solicitação.
history-verify = Você confirmou seu endereço de e-mail.
history-start = Começamos a atender sua solicitação.
history-tasks_done = Terminamos de pesquisar nossos sistemas e estamos revisando o resultado.
history-hold = Sua solicitação foi colocada em espera.
history-resume = O atendimento da sua solicitação foi retomado.
history-extend = Prorrogamos o prazo; escrevemos para você explicando o motivo.
history-complete = Sua solicitação foi concluída.
history-deny = Não pudemos atender sua solicitação; escrevemos para você explicando o motivo.
history-withdraw = A solicitação foi retirada.
history-export_link = Enviamos a você um novo link para baixar seus dados.
history-corrections = Relacionamos as correções que você pediu com os dados que temos.
history-rerun = Atendemos sua solicitação novamente.
history-own_copies_deleted = Também excluímos as cópias dos seus dados que guardávamos das suas solicitações anteriores.
history-lift_restriction = Suspendemos a restrição do tratamento; antes, escrevemos para você explicando o motivo.
history-expire = A solicitação expirou porque o endereço de e-mail não foi confirmado.
history-recipients_notified = Informamos sobre sua solicitação quem recebeu seus dados de nós.
history-appealed = Você recorreu da nossa decisão; seu recurso tem referência e página de acompanhamento próprias.
history-decide = Decidimos seu recurso; escrevemos para você com a decisão e nossos motivos.
history-reopen = Seu recurso foi aceito: estamos atendendo sua solicitação novamente.
history-regime = Mudamos a lei sob a qual sua solicitação é tratada; a data da nossa resposta foi recalculada.
history-objection_withdrawn = Você retirou sua oposição; tiramos você da nossa lista de bloqueio.
history-opted_in = Seu opt-out foi cancelado; tiramos você da nossa lista de bloqueio para ele.
history-question = Pedimos informações a você.
history-message = Enviamos uma mensagem a você.
history-subject_reply = Você nos respondeu.
history-agent = A solicitação foi enviada em seu nome por um representante autorizado.
history-agent_consent = Você concordou que seu representante receba nossa resposta.
history-agent_poa_accepted = Aceitamos a procuração do seu representante autorizado.
history-other = Sua solicitação foi atualizada.

## O mesmo histórico, para um representante autorizado.
agent-history-submit = Recebemos a solicitação.
agent-history-agent = Registramos você como representante autorizado da pessoa.
agent-history-verify = A pessoa confirmou a solicitação.
agent-history-start = Começamos a atender a solicitação.
agent-history-tasks_done = Terminamos de pesquisar nossos sistemas e estamos revisando o resultado.
agent-history-hold = A solicitação foi colocada em espera.
agent-history-resume = O atendimento da solicitação foi retomado.
agent-history-extend = Prorrogamos o prazo e explicamos o motivo à pessoa.
agent-history-complete = A solicitação foi concluída; respondemos diretamente à pessoa.
agent-history-deny = Não pudemos atender a solicitação; explicamos o motivo à pessoa.
agent-history-withdraw = A solicitação foi retirada.
agent-history-expire = A solicitação expirou porque a pessoa não a confirmou.
agent-history-agent_consent = A pessoa concordou que você receba nossa resposta.
agent-history-agent_poa_accepted = Aceitamos sua procuração.
agent-history-other = A solicitação foi atualizada.

## O que foi feito em um sistema, e por tabela em uma exclusão.
records = {$count ->
    [one] {$count} registro
   *[other] {$count} registros
}
outcome-why = Por quê:
outcome-skipped = ignorado, nada foi alterado: {$reason}
outcome-skipped-default = não há nada declarado para isso
outcome-not-done = não realizado: a operação não foi concluída neste sistema
outcome-in-progress = ainda em andamento
outcome-done = realizado
outcome-confirmed = realizado, confirmado pela pessoa responsável por este sistema
outcome-access-none = pesquisado; nada sobre você foi encontrado
outcome-access-found = pesquisado; {$records} sobre você encontrados e incluídos
outcome-access = pesquisado
outcome-erase-none = pesquisado; nada sobre você foi encontrado para excluir
outcome-erased = excluído
outcome-rectify-part = {$fields} corrigido em {$table} ({$records})
outcome-rectify-none = nenhum registro sobre você foi encontrado para corrigir
outcome-rectified = corrigido
outcome-marked-none = nenhum registro sobre você foi encontrado aqui ({$what}: nenhum)
outcome-marked = {$what} ({$records} marcados)
outcome-what-restrict = tratamento restringido
outcome-what-object = sua oposição registrada
outcome-what-lift = restrição suspensa
outcome-what-opt_out = seu opt-out da venda e do compartilhamento registrado
outcome-what-opt_in = seu opt-out cancelado
outcome-what-limit_sensitive = a limitação do uso dos seus dados sensíveis registrada
table-still-found = {$records} ainda encontrados após a exclusão
table-kept = {$records} mantidos
table-anonymised = {$records} anonimizados: o que identifica você foi removido, o restante mantido
table-kept-unchanged = {$records} mantidos sem alteração
table-deleted-kept = {$deleted} excluídos, {$kept} mantidos
table-deleted = {$records} excluídos
table-not-found = nada sobre você foi encontrado
reason-still-found = a verificação após a exclusão ainda os encontrou; estamos investigando
reason-none-recorded = nenhum motivo foi registrado
reason-anonymised = os registros são necessários sem os dados que identificam você
reason-shared = eles são compartilhados com registros de outras pessoas
reason-partly-kept = os registros mantidos são compartilhados com registros de outras pessoas ou com registros que precisamos manter
reason-kept = eles são compartilhados com registros de outras pessoas ou com registros que precisamos manter
summary-deleted = {$records} excluídos
summary-anonymised = {$records} anonimizados
summary-kept = {$records} mantidos
summary-still-found = {$records} ainda encontrados
summary-per-table = {$parts}; por tabela:

## Quem recebeu os dados (art. 19 do RGPD), após o nome do destinatário.
recipient-purpose = , para {$purpose}
recipient-transfer = ; transferência para fora do EEE: {$transfer}
recipient-told = . Informamos a ele sobre sua solicitação.
recipients-none = Nosso registro das atividades de tratamento não indica ninguém que tenha recebido seus dados pessoais.

## Tamanhos de arquivo.
size-mb = {$size} MB
size-kb = {$size} KB
size-bytes = {$size} bytes

## Um prazo («em até 45 dias»).
period-day = {$count ->
    [one] {$count} dia
   *[other] {$count} dias
}
period-month = {$count ->
    [one] {$count} mês
   *[other] {$count} meses
}
period-business-day = {$count ->
    [one] {$count} dia útil
   *[other] {$count} dias úteis
}
